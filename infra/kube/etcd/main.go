// Command etcd is the upstream etcd server, built from go.etcd.io/etcd/server/v3 at
// the release pinned in go.mod. Debian ships etcd 3.4, older than Kubernetes 1.35
// supports; the server module exposes its whole command line as etcdmain.Main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
