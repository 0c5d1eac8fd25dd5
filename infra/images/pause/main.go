// Command pause is the sandbox ("pause") process of every pod on the local node.
//
// It holds the pod's namespaces open, exits 0 on SIGINT or SIGTERM, and, being PID 1 of
// a pod that shares its process namespace, reaps the zombies other containers leave.
// Built static (CGO_ENABLED=0) into an image FROM scratch by `llmops images build pause`.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println("llmops pause")
		return
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every exited child without blocking; one SIGCHLD may stand for several.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
