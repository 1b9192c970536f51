// Package childproc starts child processes that die with their parent.
//
// Linux delivers a child's Pdeathsig when the OS *thread* that started it exits, not the
// process. Go may retire threads, so a child started from an arbitrary goroutine can be
// killed while its parent lives on. Start runs every exec from one goroutine locked to
// its thread for the life of the process, so the signal means what it says: the parent
// died.
package childproc

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

var (
	once sync.Once
	jobs chan job
)

type job struct {
	cmd  *exec.Cmd
	done chan error
}

// Start starts cmd so that it receives sig when this process dies. It keeps the other
// SysProcAttr fields the caller set.
func Start(cmd *exec.Cmd, sig syscall.Signal) error {
	once.Do(func() {
		jobs = make(chan job)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for j := range jobs {
				j.done <- j.cmd.Start()
			}
		}()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = sig
	j := job{cmd: cmd, done: make(chan error, 1)}
	jobs <- j
	return <-j.done
}
