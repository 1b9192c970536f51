// Package pgserver runs a PostgreSQL server from the machine's own binaries, for tests and
// for the embedded development stack. It needs no network and no package download.
//
// initdb refuses to run as root, so when the process is root the server runs as the
// unprivileged "postgres" user, and the data directory is handed to that user.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/devkit/childproc"
	"github.com/consentry/consentry/devkit/freeport"
)

// Options configure a server.
type Options struct {
	// Dir is the data directory. It is initialised when it holds no cluster yet and
	// reused otherwise, so data survives a restart.
	Dir string
	// Port to listen on, on 127.0.0.1; 0 picks a free one.
	Port int
	// Durable keeps fsync and synchronous commit on. Tests turn it off for speed; the dev
	// stack and crash tests keep it on.
	Durable bool
	// BinDir holds initdb and postgres; empty means the newest /usr/lib/postgresql/*/bin,
	// or $PATH.
	BinDir string
	// Settings are extra server settings, "name=value" each (-c), e.g. to load
	// pg_stat_statements while profiling.
	Settings []string
	// Log receives the server's own output lines (never queries: log_statement is off).
	Log *slog.Logger
}

// Server is a running PostgreSQL.
type Server struct {
	opts Options
	port int
	cmd  *exec.Cmd
	cred *syscall.Credential

	mu     sync.Mutex
	exited chan struct{}
	err    error
	tail   *tailWriter // the server's last lines, for start-up errors
}

// Start initialises the cluster if needed, starts the server and waits until it accepts
// connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("pgserver: Dir is required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	// postgres changes into its data directory, so a relative path (such as the socket
	// directory below) would point somewhere else.
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	opts.Dir = dir
	bin, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	opts.BinDir = bin
	s := &Server{opts: opts, port: opts.Port, tail: &tailWriter{log: opts.Log, max: 20}}
	if s.port == 0 {
		if s.port, err = freeport.One(); err != nil {
			return nil, err
		}
	}
	if err := s.prepareDir(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := s.initdb(ctx); err != nil {
			return nil, err
		}
	}
	// A postmaster killed with -9 leaves its pid file; postgres refuses to start over a
	// live one but removes a stale one itself, so nothing to do here.
	if err := s.start(); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		s.Stop(context.Background())
		return nil, err
	}
	return s, nil
}

// Port returns the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// URL returns a connection URL for database db as the postgres superuser.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// CreateDatabase creates db unless it exists.
func (s *Server) CreateDatabase(ctx context.Context, db string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, db).Scan(&exists); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return fmt.Errorf("pgserver: create database: %w", err)
	}
	return nil
}

// Stop shuts the server down: a fast shutdown (SIGINT), then SIGKILL if ctx ends first.
func (s *Server) Stop(ctx context.Context) error { return s.stopWith(ctx, syscall.SIGINT) }

// Crash stops the server like `pg_ctl stop -m immediate` (SIGQUIT): no checkpoint, so the
// next start runs crash recovery. For crash tests.
func (s *Server) Crash(ctx context.Context) error { return s.stopWith(ctx, syscall.SIGQUIT) }

// Restart starts a stopped server again on the same port and directory.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.start(); err != nil {
		return err
	}
	return s.waitReady(ctx)
}

func (s *Server) stopWith(ctx context.Context, sig syscall.Signal) error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-exited
	}
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
	return nil
}

func (s *Server) prepareDir() error {
	if err := os.MkdirAll(s.opts.Dir, 0o700); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("pgserver: running as root needs a 'postgres' user to run the server as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if err := filepath.Walk(s.opts.Dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		return fmt.Errorf("pgserver: hand %s to the postgres user: %w", s.opts.Dir, err)
	}
	if err := os.Chmod(s.opts.Dir, 0o700); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	// The postgres user must be able to reach the directory through its parents.
	probe := exec.Command(filepath.Join(s.opts.BinDir, "postgres"), "--version")
	probe.Dir = s.opts.Dir
	probe.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := probe.CombinedOutput(); err != nil {
		return fmt.Errorf("pgserver: the postgres user cannot enter %s (a parent directory is not traversable?): %v %s", s.opts.Dir, err, out)
	}
	return nil
}

func (s *Server) initdb(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, filepath.Join(s.opts.BinDir, "initdb"),
		"-D", s.opts.Dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgserver: initdb: %v\n%s", err, out)
	}
	return nil
}

func (s *Server) start() error {
	args := []string{
		"-D", s.opts.Dir,
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + s.opts.Dir,
		"-c", "max_connections=200",
		"-c", "log_statement=none",
		"-c", "logging_collector=off",
	}
	if !s.opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for _, setting := range s.opts.Settings {
		args = append(args, "-c", setting)
	}
	cmd := exec.Command(filepath.Join(s.opts.BinDir, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: s.cred,
		Setpgid:    true,            // Ctrl-C in a terminal reaches us, and we stop it in order
		Pdeathsig:  syscall.SIGQUIT, // if the owning process dies, the server does not outlive it
	}
	cmd.Stdout, cmd.Stderr = s.tail, s.tail
	// If the owning process dies, the server does not outlive it.
	if err := childproc.Start(cmd, syscall.SIGQUIT); err != nil {
		return fmt.Errorf("pgserver: start: %w", err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited, s.err = cmd, exited, nil
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(exited)
	}()
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		s.mu.Lock()
		exited := s.exited
		s.mu.Unlock()
		select {
		case <-exited:
			return fmt.Errorf("pgserver: postgres exited during start-up: %v\n%s", s.err, s.tail.String())
		default:
		}
		c, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			c.Close(ctx)
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("pgserver: postgres did not become ready: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func findBinDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(matches) > 0 {
		sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
		for _, m := range matches {
			if _, err := os.Stat(filepath.Join(m, "initdb")); err == nil {
				return m, nil
			}
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgserver: no PostgreSQL server binaries found (install Debian's postgresql package, or set the bin dir)")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// tailWriter logs the server's output at debug level and keeps its last lines.
type tailWriter struct {
	log   *slog.Logger
	max   int
	mu    sync.Mutex
	lines []string
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for line := range strings.Lines(string(p)) {
		if line = strings.TrimRight(line, "\n"); line != "" {
			w.log.Debug("postgres", "line", line)
			w.lines = append(w.lines, line)
			if len(w.lines) > w.max {
				w.lines = w.lines[1:]
			}
		}
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}
