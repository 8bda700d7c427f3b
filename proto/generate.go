// Package proto holds the .proto schemas of the engine; the generated Go code lives in
// sub-packages and is committed (CI does not regenerate it).
//
// Regenerate after editing a .proto (protoc 3.21+, protoc-gen-go at the version of
// google.golang.org/protobuf in go.mod, protoc-gen-go-grpc for the engine's service):
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go generate ./proto
package proto

//go:generate protoc --proto_path=. --go_out=. --go_opt=module=github.com/cdc-dev/cdc/proto changelog.proto
//go:generate protoc --proto_path=. --go_out=. --go_opt=module=github.com/cdc-dev/cdc/proto --go-grpc_out=. --go-grpc_opt=module=github.com/cdc-dev/cdc/proto engine.proto
