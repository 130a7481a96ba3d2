// Package sbom makes a CycloneDX SBOM reproducible. Trivy gives components
// without a package URL (the image itself, its operating system) a random
// UUID as bom-ref, a random serialNumber to the document, and the time of the
// scan as metadata.timestamp: two SBOMs of one image never had the same
// bytes. Normalize derives each from what the SBOM says instead.
package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"
)

var randomRef = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Normalize returns doc with every UUID bom-ref replaced by one derived from
// its component (references to it follow), the dependencies sorted, the
// timestamp set to epoch (the commit's time) and the serialNumber derived
// from the content. The same image and epoch give the same bytes.
func Normalize(doc []byte, epoch time.Time) ([]byte, error) {
	var bom map[string]any
	if err := json.Unmarshal(doc, &bom); err != nil {
		return nil, fmt.Errorf("not a CycloneDX document: %w", err)
	}
	if bom["bomFormat"] != "CycloneDX" {
		return nil, fmt.Errorf("not a CycloneDX document (bomFormat %v)", bom["bomFormat"])
	}
	metadata, _ := bom["metadata"].(map[string]any)
	if metadata == nil {
		metadata = map[string]any{}
		bom["metadata"] = metadata
	}
	renamed := map[string]string{}
	used := map[string]bool{}
	rename := func(c map[string]any) error {
		ref, _ := c["bom-ref"].(string)
		if !randomRef.MatchString(ref) {
			return nil
		}
		delete(c, "bom-ref")
		identity, err := json.Marshal(c)
		if err != nil {
			return err
		}
		derived := uuidOf(identity)
		for n := 1; used[derived]; n++ { // identical components still need refs of their own
			derived = uuidOf(fmt.Appendf(identity, "#%d", n))
		}
		used[derived], renamed[ref] = true, derived
		c["bom-ref"] = derived
		return nil
	}
	if c, ok := metadata["component"].(map[string]any); ok {
		if err := rename(c); err != nil {
			return nil, err
		}
	}
	components, _ := bom["components"].([]any)
	for _, c := range components {
		if c, ok := c.(map[string]any); ok {
			if err := rename(c); err != nil {
				return nil, err
			}
		}
	}
	deps, _ := bom["dependencies"].([]any)
	for _, d := range deps {
		d, ok := d.(map[string]any)
		if !ok {
			continue
		}
		if ref, ok := d["ref"].(string); ok && renamed[ref] != "" {
			d["ref"] = renamed[ref]
		}
		if on, ok := d["dependsOn"].([]any); ok {
			for i, r := range on {
				if r, ok := r.(string); ok && renamed[r] != "" {
					on[i] = renamed[r]
				}
			}
			slices.SortFunc(on, func(a, b any) int { return compare(a, b) })
		}
	}
	slices.SortFunc(deps, func(a, b any) int {
		ra, _ := a.(map[string]any)
		rb, _ := b.(map[string]any)
		return compare(ra["ref"], rb["ref"])
	})
	metadata["timestamp"] = epoch.UTC().Format(time.RFC3339)
	delete(bom, "serialNumber")
	content, err := json.Marshal(bom)
	if err != nil {
		return nil, err
	}
	bom["serialNumber"] = "urn:uuid:" + uuidOf(content)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func compare(a, b any) int {
	sa, _ := a.(string)
	sb, _ := b.(string)
	switch {
	case sa < sb:
		return -1
	case sa > sb:
		return 1
	}
	return 0
}

// uuidOf is a name-based UUID (RFC 9562 version 8, from SHA-256) of data.
func uuidOf(data []byte) string {
	sum := sha256.Sum256(data)
	sum[6] = sum[6]&0x0f | 0x80 // version 8
	sum[8] = sum[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}
