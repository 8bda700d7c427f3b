package miniotest

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill the server when the test process dies, so that a test
// binary killed by a timeout or a signal leaves no MinIO running.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
