// Package version holds what a release stamps into each binary, so that an operator can
// tell which build a pod runs (`<binary> --version`) without trusting the image tag.
package version

import (
	"fmt"
	"io"
	"runtime/debug"
)

// Version and Commit are set at link time by the image build:
//
//	-ldflags "-X github.com/consentry/consentry/platform/version.Version=v1.2.3
//	          -X github.com/consentry/consentry/platform/version.Commit=<sha>"
//
// They are variables, not constants, because -X can only set string variables.
var (
	Version = "dev"
	Commit  = ""
)

// String returns "<service> <version> (<commit>)". Without a stamped commit it falls back
// to the revision the go command recorded, which a build from a git checkout has (unless
// built with -buildvcs=false), and to "unknown".
func String(service string) string {
	return fmt.Sprintf("%s %s (%s)", service, Version, commit())
}

func commit() string {
	if Commit != "" {
		return Commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// Requested reports whether the command line asks for the version. It is checked before
// configuration is loaded, so that `--version` works without any environment set.
func Requested(args []string) bool {
	for _, a := range args {
		if a == "--version" || a == "-version" {
			return true
		}
	}
	return false
}

// Print writes String(service) and a newline to w.
func Print(w io.Writer, service string) {
	fmt.Fprintln(w, String(service))
}
