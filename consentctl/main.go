// Command consentctl is the operators' and developers' command line for Consentry: it
// sends consents and privacy requests, reads a subject's history and proof of consent,
// follows requests, dead letters and manual tasks, back-fills vendors, verifies the
// audit chain — all through the services' HTTP APIs — and tails a topic decoded through
// the schema registry. `consentctl --help` lists the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
