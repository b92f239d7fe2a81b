// Command pause is the sandbox ("pause") container of the end-to-end test's node: it
// holds a pod's namespaces and waits to be stopped. It is built and packed as an image
// by the test itself, since no registry can be reached.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
