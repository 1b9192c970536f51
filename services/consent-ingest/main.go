// Command consent-ingest is Consentry's front door: it validates consent changes and
// privacy requests, seals personal identifiers, and answers 202 only once Kafka holds the
// event with acks=all.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "consent-ingest:", err)
		os.Exit(1)
	}
}
