// Command vendor-fanout turns consent changes and privacy requests into vendor actions and
// delivers them — each vendor through its own lane, breaker, rate limit and retry schedule
// — publishing a receipt for every outcome.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "vendor-fanout:", err)
		os.Exit(1)
	}
}
