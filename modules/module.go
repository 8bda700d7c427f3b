// Package modules compiles a module's .proto files at run time and infers from them the
// tables, write bindings and subscription bindings the engine serves. It is pure: no I/O,
// no goroutines; the engine stores and serves what it returns.
package modules

import (
	"github.com/cdc-dev/cdc/dataflow"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// OptionsFile is the import path of the engine's option definitions (OptionsProto).
const OptionsFile = "cdc/options.proto"

// Module is a compiled module: its files, the tables its write RPCs store and its services.
// A Module is immutable once Compile returns it.
type Module struct {
	Name  string            // the module's name, as given to Compile
	Files map[string]string // source text by path, as given to Compile
	Main  string            // path of the main file
	// Registry holds the module's files and every file they import (cdc/options.proto and
	// the well-known types included): what server reflection resolves against.
	Registry *protoregistry.Files
	// Own lists the module's own files (not the imports), Main first.
	Own      []protoreflect.FileDescriptor
	Tables   []*Table   // in order of first use by a write RPC
	Services []*Service // in declaration order, across the module's files
}

// Table is a message stored as a table: a flat list of columns.
type Table struct {
	Name    string // SQL name: (cdc.table) or <module>_<message in snake case>
	Message protoreflect.MessageDescriptor
	Columns []Column
	Key     []int // indexes of the key columns ((cdc.key) fields), empty for bag semantics

	types *dynamicpb.Types // resolves google.protobuf.Any in JSON columns; nil: global types
}

// Column is one column of a table: a scalar field reached through zero or more singular
// message fields (flattened with "_"), or a repeated/map field stored as JSON.
type Column struct {
	Name    string // e.g. channel_name
	SQLType string // TEXT, BIGINT, BIGINT UNSIGNED, INT, INT UNSIGNED, DOUBLE, FLOAT, BOOLEAN, BLOB, JSON, DATETIME(6)
	Kind    dataflow.Kind
	Path    []protoreflect.FieldDescriptor // from the table's message to the field
	Numbers string                         // the field numbers of Path joined by ".", e.g. "2.1"
}

// Service is a service of the module with its bound methods.
type Service struct {
	Desc    protoreflect.ServiceDescriptor
	Methods []*Method
}

// MethodKind says what calling a method does.
type MethodKind int

const (
	// Write stores the request messages (unary or client streaming), one transaction per call.
	Write MethodKind = iota
	// Subscribe streams rows of a table or a view (server streaming).
	Subscribe
)

// WriteMode is what a write method does with each request row ((cdc.write) option).
type WriteMode int

const (
	Insert WriteMode = iota // the default
	Upsert                  // insert, or replace the row with the same key
	Delete                  // delete the row with the same key (or, without a key, one equal row)
)

// Method is an RPC bound to the engine.
type Method struct {
	Desc protoreflect.MethodDescriptor
	Path string // "/chatpb.ChatService/SendMessage"
	Kind MethodKind

	// For Write: the table of the request message and the mode.
	Table *Table
	Mode  WriteMode

	// For Subscribe: View is the view named by (cdc.view), or "" for the rows of Table (the
	// table of the row message). Row describes the streamed row message's columns (it is
	// Table when View is ""). Params map the request's fields to columns of the relation.
	// Changes is set when the output message is a change wrapper: fields lsn (uint64),
	// diff (int64) and one message field of the row type.
	View    string
	Row     *Table
	Params  []Param
	Changes bool

	// For a Changes method: the fields of the change wrapper.
	lsnField, diffField, rowField protoreflect.FieldDescriptor
}

// Param binds a request field (a scalar, possibly inside singular message fields) to a
// column of the subscribed relation.
type Param struct {
	Column string
	Path   []protoreflect.FieldDescriptor // from the request message
}
