// Command unsubscribe-handler serves signed unsubscribe links, the RFC 8058 one-click
// receiver and the preference center, takes bounces and complaints from the email
// platform, and keeps the compacted suppression topic that marketing tools consume
// (docs/marketing-tools.md).
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
