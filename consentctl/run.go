package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Exit codes: a usage mistake is told apart from a failed operation, so scripts can
// tell "I called it wrong" from "the system said no".
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// errUsage marks an error the user fixes by calling the command differently.
var errUsage = errors.New("usage")

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// env is what a command runs with.
type env struct {
	ctx    context.Context
	opts   *options
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// command is the running command's name: it picks the key from a secrets file.
	command string
}

// productCommands are what a product service does; every other command is an operator's.
var productCommands = map[string]bool{"consent send": true, "request send": true}

// command is one leaf of the command tree, named by its words ("dead-letters replay").
type command struct {
	name  string
	args  string // synopsis of its arguments and flags
	help  string // one line
	flags func(fs *flag.FlagSet) func(e *env, args []string) error
}

func commands() []command {
	return []command{
		{"consent send", "[--file F | --tenant T --subject ID --purpose p=granted|denied ...]", "send a consent change (POST /v1/consents)", consentSend},
		{"request send", "[--file F | --tenant T --subject ID --type erasure --reason user_request ...]", "send a privacy request (POST /v1/privacy-requests)", requestSend},
		{"request status", "<request_id>", "a request's status, deadline and each vendor's progress", requestStatus},
		{"request list", "[--status at_risk|overdue|<lifecycle status>] [--tenant T]", "list privacy requests, e.g. those at risk of missing their deadline", requestList},
		{"subject history", "<tenant> <subject_id>", "a subject's audit history: events, receipts, suppressions", subjectHistory},
		{"subject proof", "<tenant> <subject_id>", "proof of consent: each purpose's current choice and the event that set it", subjectProof},
		{"dead-letters list", "[--vendor V]", "list dead-lettered vendor deliveries", deadLettersList},
		{"dead-letters replay", "<id> | --vendor V --all", "replay one dead letter, or every dead letter of a vendor", deadLettersReplay},
		{"tasks list", "[--status open|completed|overdue] [--vendor V]", "list manual tasks (vendors without an API)", tasksList},
		{"tasks complete", "<id> --by NAME [--note TEXT]", "record a manual task as done", tasksComplete},
		{"vendors", "", "each vendor's lane: breaker, backlog, throttling, last error", vendorsList},
		{"suppression", "<email | email_sha256>", "whether an address is suppressed, looked up by its hash", suppression},
		{"backfill", "<vendor> [--tenant T ...]", "replay past opt-outs and erasures to a vendor (idempotent)", backfill},
		{"audit verify", "", "recompute every audit hash chain; exits 1 on a break", auditVerify},
		{"audit heads", "", "where every audit chain ends, to anchor elsewhere", auditHeads},
		{"tail", "<topic> [--from-beginning] [--max N]", "print a topic's records as JSON lines, decoded through the schema registry", tail},
	}
}

// run is consentctl's whole life: it parses args, runs one command and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts := defaultOptions(getenv)
	top := flag.NewFlagSet("consentctl", flag.ContinueOnError)
	top.SetOutput(stderr)
	opts.register(top)
	top.Usage = func() { usage(stdout, top) }
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := top.Args()
	if len(rest) == 0 || rest[0] == "help" {
		usage(stdout, top)
		if len(rest) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, rest, ok := find(rest)
	if !ok {
		fmt.Fprintf(stderr, "consentctl: unknown command %q; consentctl --help lists them\n", strings.Join(rest[:min(2, len(rest))], " "))
		return exitUsage
	}
	fs := flag.NewFlagSet("consentctl "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	do := cmd.flags(fs)
	opts.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nusage: consentctl %s %s\n\nflags:\n", cmd.help, cmd.name, cmd.args)
		fs.PrintDefaults()
	}
	positional, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	e := &env{ctx: ctx, opts: &opts, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, command: cmd.name}
	if err := do(e, positional); err != nil {
		fmt.Fprintf(stderr, "consentctl %s: %v\n", cmd.name, err)
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "usage: consentctl %s %s\n", cmd.name, cmd.args)
			return exitUsage
		}
		return exitFail
	}
	return exitOK
}

// find picks the command named by the first one or two words of args.
func find(args []string) (command, []string, bool) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], true
		}
	}
	return command{}, args, false
}

// parseInterspersed lets flags follow positional arguments (`tasks complete 7 --by ana`),
// which the flag package alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func usage(w io.Writer, top *flag.FlagSet) {
	fmt.Fprint(w, `consentctl — operate and try out Consentry through its APIs.

usage: consentctl [flags] <command> [arguments] [flags]

commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.help)
	}
	tw.Flush()
	fmt.Fprint(w, `
Every command prints JSON (indented; --compact for one line) and exits 1 when the API
answers with an error, which it prints as the API sent it. "consentctl <command> -h"
shows a command's own flags.

flags (each may also follow the command):
`)
	top.SetOutput(w)
	top.PrintDefaults()
}
