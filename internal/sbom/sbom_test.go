package sbom

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// trivyOutput is the shape of what Trivy writes for an image: UUID bom-refs
// for the image and its OS, purls for packages, the scan's time and a random
// serial number, dependencies in the order of their refs.
func trivyOutput(image, os, scanned, serial string) []byte {
	return []byte(`{
  "bomFormat": "CycloneDX", "specVersion": "1.6",
  "serialNumber": "urn:uuid:` + serial + `",
  "metadata": {"timestamp": "` + scanned + `", "component": {"bom-ref": "` + image + `", "type": "container", "name": "/in/image",
    "properties": [{"name": "aquasecurity:trivy:ImageID", "value": "sha256:5c67"}]}},
  "components": [
    {"bom-ref": "` + os + `", "type": "operating-system", "name": "debian", "version": "12.15"},
    {"bom-ref": "pkg:deb/debian/base-files@12.4", "type": "library", "name": "base-files", "purl": "pkg:deb/debian/base-files@12.4"},
    {"bom-ref": "pkg:golang/github.com/jackc/pgx/v5@v5.13.0", "type": "library", "name": "github.com/jackc/pgx/v5", "purl": "pkg:golang/github.com/jackc/pgx/v5@v5.13.0"}
  ],
  "dependencies": [
    {"ref": "` + os + `", "dependsOn": ["pkg:deb/debian/base-files@12.4"]},
    {"ref": "` + image + `", "dependsOn": ["pkg:golang/github.com/jackc/pgx/v5@v5.13.0", "` + os + `"]},
    {"ref": "pkg:deb/debian/base-files@12.4", "dependsOn": []}
  ]
}`)
}

var commitTime = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func TestNormalizeGivesTwoScansOfOneImageTheSameBytes(t *testing.T) {
	first := trivyOutput("a8b55952-dcbc-4fb0-b17d-ece5ccfba3ad", "56da69f5-d526-4a12-be82-1f3986c7fd25", "2026-12-06T23:51:37+00:00", "90255fca-3eb8-4c24-a7da-45a3fbbe62ee")
	second := trivyOutput("0eab245c-3e2d-4d11-bb10-29c9e7e50b8d", "e0f31858-9948-4403-a925-2870b29ea991", "2026-12-07T09:00:01+00:00", "48d27c5c-3f4c-4cc1-8cb3-9481fc8ea1cf")
	a, err := Normalize(first, commitTime)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Normalize(second, commitTime)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("two scans of one image differ after normalizing:\n%s\n%s", a, b)
	}
	var bom struct {
		SerialNumber string `json:"serialNumber"`
		Metadata     struct {
			Timestamp string `json:"timestamp"`
			Component struct {
				Ref string `json:"bom-ref"`
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Ref string `json:"bom-ref"`
		} `json:"components"`
		Dependencies []struct {
			Ref       string   `json:"ref"`
			DependsOn []string `json:"dependsOn"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(a, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.Metadata.Timestamp != "2026-11-30T12:00:00Z" || !randomRef.MatchString(strings.TrimPrefix(bom.SerialNumber, "urn:uuid:")) {
		t.Errorf("timestamp %s, serial %s", bom.Metadata.Timestamp, bom.SerialNumber)
	}
	refs := map[string]bool{bom.Metadata.Component.Ref: true}
	for _, c := range bom.Components {
		refs[c.Ref] = true
	}
	if len(refs) != 4 || strings.Contains(string(a), "a8b55952") || strings.Contains(string(a), "56da69f5") {
		t.Fatalf("refs %v: every random ref must be replaced, each by its own", refs)
	}
	for i, d := range bom.Dependencies {
		if !refs[d.Ref] {
			t.Errorf("dependency of an unknown ref %s", d.Ref)
		}
		for _, on := range d.DependsOn {
			if !refs[on] {
				t.Errorf("%s depends on an unknown ref %s", d.Ref, on)
			}
		}
		if i > 0 && bom.Dependencies[i-1].Ref > d.Ref {
			t.Errorf("dependencies out of order at %s", d.Ref)
		}
	}
	if c, _ := Normalize(first, commitTime.Add(time.Hour)); bytes.Equal(c, a) {
		t.Error("another epoch gave the same document")
	}
	other := bytes.Replace(first, []byte("sha256:5c67"), []byte("sha256:ffff"), 1)
	if c, _ := Normalize(other, commitTime); bytes.Equal(c, a) {
		t.Error("another image gave the same document")
	}
}

func TestNormalizeRefusesWhatIsNoCycloneDX(t *testing.T) {
	for _, doc := range []string{"", "[]", `{"spdxVersion": "SPDX-2.3"}`} {
		if _, err := Normalize([]byte(doc), commitTime); err == nil {
			t.Errorf("Normalize(%q) succeeded", doc)
		}
	}
}
