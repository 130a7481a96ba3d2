// A server that links golang.org/x/crypto/ssh: the self-test's planted
// dependency, never part of the product. go.mod pins a version with a
// known advisory (CVE-2024-45337, CRITICAL, fixed in v0.31.0); fixed.go.mod
// the fixed one.
package main

import (
	"fmt"

	"golang.org/x/crypto/ssh"
)

func main() {
	fmt.Println(ssh.KeyAlgoED25519)
}
