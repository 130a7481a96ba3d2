package main

import (
	"fmt"
	"io"
)

// reportDiff prints how a rebuild compares with what was published, and
// fails when they differ.
func reportDiff(out io.Writer, ref string, diffs []string, err error) error {
	if err != nil {
		return err
	}
	if len(diffs) == 0 {
		fmt.Fprintln(out, "identical to "+ref)
		return nil
	}
	fmt.Fprintln(out, "differs from "+ref+" (first: published, second: rebuilt):")
	for _, d := range diffs {
		fmt.Fprintln(out, "  "+d)
	}
	return fmt.Errorf("the rebuild differs from %s in %d ways", ref, len(diffs))
}
