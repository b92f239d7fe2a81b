package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a server this package started, with its output in a log file.
type Process struct {
	Name    string
	LogFile string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// StartProcess starts bin with args, its output appended to <logDir>/<name>.log, and
// records its PID in <logDir>/<name>.pid so that a later clean-up can stop it even if
// this process died. The child gets SIGTERM if this process dies.
func StartProcess(name, logDir, bin string, args ...string) (*Process, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logFile := filepath.Join(logDir, name+".log")
	out, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	_ = os.WriteFile(filepath.Join(logDir, name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	p := &Process{Name: name, LogFile: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has stopped, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM, waits up to grace, then kills the process group.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	_ = os.Remove(strings.TrimSuffix(p.LogFile, ".log") + ".pid")
}

// Tail returns the last n lines of the process's log.
func (p *Process) Tail(n int) string {
	return TailFile(p.LogFile, n)
}

// TailFile returns the last n lines of a file, or why it cannot.
func TailFile(file string, n int) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// KillRecorded stops every process whose PID a StartProcess recorded in logDir and
// that still runs the same program: what an earlier run left behind.
func KillRecorded(logDir string) {
	pids, _ := filepath.Glob(filepath.Join(logDir, "*.pid"))
	for _, f := range pids {
		data, _ := os.ReadFile(f)
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err == nil && pid > 1 {
			if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(cmdline) > 0 {
				_ = syscall.Kill(-pid, syscall.SIGTERM)
				_ = syscall.Kill(pid, syscall.SIGTERM)
				for i := 0; i < 50 && processAlive(pid); i++ {
					time.Sleep(100 * time.Millisecond)
				}
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = os.Remove(f)
	}
}

func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie is as good as gone.
	fields := strings.Fields(string(data))
	return len(fields) > 2 && fields[2] != "Z"
}

// FreePort returns a TCP port on host that nothing listens on now.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitFor calls check every interval until it returns nil, ctx ends or p exits; the
// error says what was last wrong and ends with the log's tail.
func WaitFor(ctx context.Context, what string, timeout time.Duration, p *Process, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = check(ctx); last == nil {
			return nil
		}
		if p != nil {
			if exited, err := p.Exited(); exited {
				return fmt.Errorf("%s exited (%v) before %s; the end of %s:\n%s", p.Name, err, what, p.LogFile, p.Tail(30))
			}
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("%s: not after %s: %v", what, timeout, last)
			if p != nil {
				msg += fmt.Sprintf("; the end of %s:\n%s", p.LogFile, p.Tail(30))
			}
			return errors.New(msg)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
