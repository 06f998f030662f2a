package controlplane

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is one OS process of the topology: a Temporal service, a Switchyard worker or the
// intake. It can be killed (any signal, SIGKILL included) and started again with the same
// command line, which is what the reliability tests do to it.
type Process struct {
	// Name identifies the process: "history", "matching", "frontend", "worker" (Temporal's
	// internal worker service), "switchyard-worker-1", "switchyard-worker-2", "intake".
	Name string
	path string
	args []string
	env  []string
	log  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	starts int
}

// LogFile is where the process's stdout and stderr go (appended across restarts).
func (p *Process) LogFile() string { return p.log }

// Start starts the process; it fails when it is already running.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s is already running (pid %d)", p.Name, p.cmd.Process.Pid)
		}
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log of %s: %w", p.Name, err)
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	// A process group of its own: a Ctrl-C in the operator's terminal reaches the supervisor,
	// which stops the processes in order, instead of every process at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("start %s (%s): %w", p.Name, p.path, err)
	}
	p.cmd, p.done, p.err = cmd, make(chan struct{}), nil
	p.starts++
	done := p.done
	go func() {
		err := cmd.Wait()
		_ = f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Pid is the running process's id, 0 when it is not running.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.exited() {
		return 0
	}
	return p.cmd.Process.Pid
}

// Starts counts how often the process was started.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Running reports whether the process is alive.
func (p *Process) Running() bool { return p.Pid() != 0 }

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Exited is closed when the current run of the process ends (nil before the first Start).
func (p *Process) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Signal sends sig and, for SIGKILL, waits until the process is gone, so a restart that follows
// never races the dying process for its ports.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("%s was never started", p.Name)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return nil
		}
		return fmt.Errorf("signal %v to %s: %w", sig, p.Name, err)
	}
	if sig == syscall.SIGKILL {
		<-done
	}
	return nil
}

// Kill ends the process with SIGKILL: no shutdown hook runs, as when a machine dies.
func (p *Process) Kill() error { return p.Signal(syscall.SIGKILL) }

// Stop asks the process to end (SIGTERM) and kills it after grace.
func (p *Process) Stop(grace time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(grace):
		return p.Kill()
	}
}
