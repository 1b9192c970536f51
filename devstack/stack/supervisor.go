package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/consentry/consentry/devkit/childproc"
)

// process runs one service binary as its own OS process and restarts it, with backoff,
// whenever it dies — as Kubernetes would — logging each restart.
type process struct {
	name string
	path string
	env  []string
	out  io.Writer
	log  *slog.Logger
	// maxBackoff caps the wait between restarts of a process that keeps dying.
	maxBackoff time.Duration

	mu       sync.Mutex
	cmd      *exec.Cmd
	restarts int
	stopping bool
	done     chan struct{}
}

// setEnv gives the process's next start key=value in place of what it had, and returns
// the environment it had.
func (p *process) setEnv(key, value string) (was []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	env := make([]string, 0, len(p.env)+1)
	for _, kv := range p.env {
		if !strings.HasPrefix(kv, key+"=") {
			env = append(env, kv)
		}
	}
	was, p.env = p.env, append(env, key+"="+value)
	return was
}

func (p *process) replaceEnv(env []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.env = env
}

func (p *process) start(ctx context.Context) {
	p.done = make(chan struct{})
	go p.supervise(ctx)
}

func (p *process) supervise(ctx context.Context) {
	defer close(p.done)
	backoff := 500 * time.Millisecond
	for {
		cmd := exec.Command(p.path)
		p.mu.Lock()
		cmd.Env = p.env
		p.mu.Unlock()
		cmd.Stdout, cmd.Stderr = p.out, p.out
		// Its own process group: Ctrl-C in the terminal reaches only the supervisor,
		// which then stops the services in order.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		p.mu.Lock()
		if p.stopping {
			p.mu.Unlock()
			return
		}
		err := childproc.Start(cmd, syscall.SIGKILL)
		if err == nil {
			p.cmd = cmd
		}
		p.mu.Unlock()
		if err != nil {
			p.log.Error("service did not start", "service", p.name, "error", err)
		} else {
			started := time.Now()
			err = cmd.Wait()
			if time.Since(started) > time.Minute {
				backoff = 500 * time.Millisecond // it ran fine for a while: restart promptly
			}
		}
		p.mu.Lock()
		stopping := p.stopping
		if !stopping {
			p.restarts++
		}
		p.mu.Unlock()
		if stopping || ctx.Err() != nil {
			return
		}
		p.log.Warn("service exited; restarting", "service", p.name, "error", fmt.Sprint(err), "restart_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, p.maxBackoff)
	}
}

// Restarts returns how many times the service was restarted after dying.
func (p *process) Restarts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restarts
}

// pid returns the current process id, or 0.
func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// kill sends SIGKILL to the current process (the supervisor restarts it).
func (p *process) kill() error {
	pid := p.pid()
	if pid == 0 {
		return fmt.Errorf("%s is not running", p.name)
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// stop sends SIGTERM and waits for a graceful exit, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
	p.mu.Lock()
	p.stopping = true
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		if cmd != nil && cmd.Process != nil {
			p.log.Warn("service did not stop in time; killing it", "service", p.name)
			_ = cmd.Process.Signal(os.Kill)
		}
		<-p.done
	}
}
