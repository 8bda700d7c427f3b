package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/cdc-dev/cdc/proto/enginepb"
)

const moduleUsage = `usage:
  cdc module load [--addr HOST:PORT] [--password P] NAME FILE.proto [IMPORTED.proto...]
      create module NAME from the files, or replace it (added fields become new columns);
      files are named by their path relative to the first file's directory, as imports name them
  cdc module list [--addr HOST:PORT] [--password P]
  cdc module drop [--addr HOST:PORT] [--password P] [--if-exists] NAME
`

// runModule is `cdc module`: load, list and drop the modules of a running server over gRPC.
func runModule(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, moduleUsage)
		return 2
	}
	fs := flag.NewFlagSet("module "+args[0], flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:6877", "gRPC address of the server")
	password := fs.String("password", os.Getenv("CDC_PASSWORD"), "the server's password (default: $CDC_PASSWORD)")
	ifExists := fs.Bool("if-exists", false, "drop: no error if the module does not exist")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if *password != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+*password)
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdc module:", err)
		return 1
	}
	defer conn.Close()
	client := enginepb.NewEngineClient(conn)
	rest := fs.Args()
	switch args[0] {
	case "load":
		if len(rest) < 2 {
			fmt.Fprint(os.Stderr, moduleUsage)
			return 2
		}
		req := &enginepb.LoadModuleRequest{Name: rest[0], Files: map[string]string{}}
		base := filepath.Dir(rest[1])
		for _, path := range rest[1:] {
			text, err := os.ReadFile(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, "cdc module load:", err)
				return 1
			}
			rel, err := filepath.Rel(base, path)
			if err != nil || strings.HasPrefix(rel, "..") {
				rel = filepath.Base(path)
			}
			rel = filepath.ToSlash(rel)
			if req.Main == "" {
				req.Main = rel
			}
			req.Files[rel] = string(text)
		}
		res, err := client.LoadModule(ctx, req)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cdc module load:", err)
			return 1
		}
		verb := "created"
		if res.Replaced {
			verb = "replaced"
		}
		fmt.Printf("module %s %s\n", rest[0], verb)
		for _, t := range res.Tables {
			fmt.Printf("table %s: %s\n", t.Name, t.CreateSql)
		}
		for _, s := range res.Services {
			fmt.Printf("service %s\n", s)
		}
	case "list":
		res, err := client.ListModules(ctx, &enginepb.ListModulesRequest{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "cdc module list:", err)
			return 1
		}
		for _, m := range res.Modules {
			fmt.Printf("%s\ttables: %s\tservices: %s\n", m.Name, strings.Join(m.Tables, ", "), strings.Join(m.Services, ", "))
		}
	case "drop":
		if len(rest) != 1 {
			fmt.Fprint(os.Stderr, moduleUsage)
			return 2
		}
		if _, err := client.DropModule(ctx, &enginepb.DropModuleRequest{Name: rest[0], IfExists: *ifExists}); err != nil {
			fmt.Fprintln(os.Stderr, "cdc module drop:", err)
			return 1
		}
		if *ifExists {
			fmt.Printf("module %s is not loaded (any more)\n", rest[0])
		} else {
			fmt.Printf("module %s dropped\n", rest[0])
		}
	default:
		fmt.Fprint(os.Stderr, moduleUsage)
		return 2
	}
	return 0
}
