// Command symauth shows symauth at work and helps bot teams with their
// Symphony credentials: a one-command demo, a local Symphony emulator, and
// token, whoami and check against a pod or the emulator, and a local proxy
// that logs in for a bot written in any language.
//
// Run "symauth help" for the commands, "symauth CMD -h" for their flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run gets the arguments after the command name
// and returns the exit status.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, out, errOut io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"demo":     {"log a bot in and send thousands of requests through symauth while its sessions end", runDemo},
		"emulator": {"serve a local Symphony (pod, key manager, session auth, agent) for tests", runEmulator},
		"token":    {"log in and print the tokens, as shell exports or JSON", runToken},
		"whoami":   {"log in and print who the bot is (GET /pod/v2/sessioninfo)", runWhoami},
		"check":    {"diagnose a bot's credentials and connectivity step by step", runCheck},
		"proxy":    {"serve the bot's pod and agent APIs, logged in, on loopback: the login for a bot in any language", runProxy},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and something failed
	exitUsage = 2 // bad command line
)

func run(ctx context.Context, args []string, out, errOut io.Writer) int {
	if len(args) == 0 {
		usage(errOut)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 1 {
			if _, ok := commands()[rest[0]]; ok {
				return run(ctx, []string{rest[0], "-h"}, out, errOut)
			}
		}
		usage(out)
		return exitOK
	}
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(errOut, "symauth: unknown command %q\n\n", name)
		usage(errOut)
		return exitUsage
	}
	return cmd.run(ctx, rest, out, errOut)
}

func usage(w io.Writer) {
	fmt.Fprint(w, "symauth authenticates Symphony Messaging bots.\n\nUsage:\n  symauth COMMAND [flags]\n\nCommands:\n")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
	fmt.Fprint(w, "\nRun \"symauth COMMAND -h\" for a command's flags.\n")
}

// newFlagSet returns a flag set for a command whose usage text starts with
// synopsis (the arguments after the command name) and description.
func newFlagSet(name, synopsis, description string, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(errOut, "Usage: symauth %s %s\n\n%s\n\nFlags:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns the exit status to end with, if any: 0
// after -h, exitUsage after a bad flag or stray arguments.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitUsage, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "symauth %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return exitUsage, true
	}
	return 0, false
}
