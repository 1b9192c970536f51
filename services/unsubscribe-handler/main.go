// Command unsubscribe-handler serves signed unsubscribe links and the RFC 8058 one-click
// receiver, and keeps the compacted suppression topic that marketing tools consume.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "unsubscribe-handler:", err)
		os.Exit(1)
	}
}
