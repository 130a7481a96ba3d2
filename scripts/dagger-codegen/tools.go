//go:build tools

// Package tools pins Dagger's codegen, which scripts/dagger-bindings.sh builds
// to regenerate ci/'s bindings without an engine.
package tools

import _ "github.com/dagger/dagger/cmd/codegen"
