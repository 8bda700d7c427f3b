//go:build !linux

package miniotest

import "os/exec"

// setProcAttr does nothing off Linux: there is no parent-death signal there, and a killed test
// binary may leave its server running.
func setProcAttr(cmd *exec.Cmd) {}
