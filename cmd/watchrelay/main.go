// Command watchrelay manages watches and channels, runs renew passes, serves
// every function locally and demonstrates the whole flow against a
// simulated Google. It reads the same environment as the deployed functions
// (see internal/config), so `watch add` against a deployment writes the
// very documents Renew reads.
//
// Its commands, with their usage, are the commands table below, which
// `watchrelay` with no command prints; start with
//
//	watchrelay demo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/fake/inproc"
	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := realMain(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "watchrelay:", err)
	}
	os.Exit(exitCode(err))
}

// errUnhealthy: the command did its work and found something that needs a
// person (status found a problem; the watch just added failed). It exits 1,
// so a cron or CI step can tell it from a command that could not run (2).
var errUnhealthy = errors.New("needs a person")

// exitCode is the one place errors become exit statuses: 0 for none, 1 when
// something needs a person, 2 for anything else (usage, the store or a
// service unreachable).
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUnhealthy):
		return 1
	}
	return 2
}

// env is what a command runs with: its configuration, its output and a way
// to build the service from that configuration.
type env struct {
	cfg    config.Config
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	logger *slog.Logger
}

// service builds watchrelay from the environment. Where it names no project
// and no emulator, this is where the embedded defaults are chosen: an
// in-memory store and an in-process Pub/Sub, living as long as the command.
// The deployed function has no such fallback (service.ErrNoProject).
func (e *env) service(ctx context.Context, opts service.Options) (*service.Service, error) {
	opts.Logger = e.logger
	if opts.Store == nil && e.cfg.Project == "" && e.cfg.FirestoreEmulator == "" {
		opts.Store = store.NewMemory()
	}
	if opts.PubSub == nil && e.cfg.Project == "" && e.cfg.PubsubEmulator == "" {
		ps, err := inproc.Start(ctx, service.LocalProject, e.cfg.Topic)
		if err != nil {
			return nil, err
		}
		opts.PubSub, opts.Release = ps.Client, ps.Close
	}
	s, err := service.New(ctx, e.cfg, opts)
	if err != nil && opts.Release != nil {
		opts.Release()
	}
	return s, err
}

type command struct {
	usage string
	run   func(ctx context.Context, e *env, args []string) error
}

var commands = map[string]command{
	"demo":           {"demo [--short 16s]", runDemo},
	"serve":          {"serve [--channel id=..,token=..,resource-id=..,kind=..,watch=..]...", runServe},
	"watch add":      {"watch add --kind K --param k=v... [--id ID] [--subject S] [--label k=v...] [--address URL] [--ttl D] [--changes=false] [--snapshot]", runWatchAdd},
	"watch list":     {"watch list [--json]", runWatchList},
	"watch rm":       {"watch rm ID", runWatchRm},
	"watch retry":    {"watch retry ID", runWatchRetry},
	"watch sync":     {"watch sync ID", runWatchSync},
	"renew":          {"renew", runRenew},
	"status":         {"status [--json]", runStatus},
	"replay":         {"replay --subscription S (--since D | --time RFC3339)", runReplay},
	"channel import": {"channel import --id ID --token T|- --resource-id R --kind K --expiration RFC3339 --watch W [--resource-uri U]", runChannelImport},
	"channel stop":   {"channel stop --kind K --id ID --resource-id R [--subject S]", runChannelStop},
}

func realMain(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	e := &env{cfg: cfg, stdin: stdin, stdout: stdout, stderr: stderr, logger: logging.New(stderr, slog.LevelInfo)}
	for _, n := range []int{2, 1} {
		if len(args) >= n {
			if c, ok := commands[strings.Join(args[:n], " ")]; ok {
				return c.run(ctx, e, args[n:])
			}
		}
	}
	usage(stderr)
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return flag.ErrHelp
	}
	return fmt.Errorf("unknown command %q", strings.Join(args, " "))
}

func usage(w io.Writer) {
	var lines []string
	for _, c := range commands {
		lines = append(lines, "  watchrelay "+c.usage)
	}
	sort.Strings(lines)
	fmt.Fprintf(w, "usage:\n%s\n", strings.Join(lines, "\n"))
}

// flags returns a FlagSet for one command that reports errors instead of
// exiting, so realMain stays testable.
func flags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// pairs is a repeatable k=v flag.
type pairs map[string]string

func (p pairs) String() string {
	var s []string
	for k, v := range p {
		s = append(s, k+"="+v)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func (p pairs) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", v)
	}
	p[k] = val
	return nil
}
