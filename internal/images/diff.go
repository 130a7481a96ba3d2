package images

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// maxPerPart bounds the differences listed for one configuration or layer.
const maxPerPart = 20

// Diff says how two artifacts differ, as diffoci does, from the outside in:
// platforms; then, for each platform whose image differs, the manifest, the
// configuration field by field, and each differing layer file by file
// (content, mode, owner, time, link). Equal artifacts give nothing.
func Diff(want, got Artifact) ([]string, error) {
	wd, err := want.Digest()
	if err != nil {
		return nil, err
	}
	gd, err := got.Digest()
	if err != nil {
		return nil, err
	}
	if wd == gd {
		return nil, nil
	}
	wi, err := byPlatform(want)
	if err != nil {
		return nil, err
	}
	gi, err := byPlatform(got)
	if err != nil {
		return nil, err
	}
	var diffs []string
	if (want.Index == nil) != (got.Index == nil) {
		diffs = append(diffs, fmt.Sprintf("kind: %s ≠ %s", kind(want), kind(got)))
	}
	platforms := slices.Sorted(func(yield func(string) bool) {
		for p := range wi {
			if !yield(p) {
				return
			}
		}
		for p := range gi {
			if _, ok := wi[p]; !ok && !yield(p) {
				return
			}
		}
	})
	for _, p := range platforms {
		w, g := wi[p], gi[p]
		switch {
		case w == nil:
			diffs = append(diffs, p+": only in the second")
		case g == nil:
			diffs = append(diffs, p+": only in the first")
		default:
			d, err := diffImage(w, g)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			for _, line := range d {
				diffs = append(diffs, p+": "+line)
			}
		}
	}
	if len(diffs) == 0 {
		// The same images under another index: its manifest says how.
		wm, err := want.Index.RawManifest()
		if err != nil {
			return nil, err
		}
		gm, err := got.Index.RawManifest()
		if err != nil {
			return nil, err
		}
		diffs = jsonDiff("index", wm, gm)
	}
	return diffs, nil
}

func kind(a Artifact) string {
	if a.Index != nil {
		return "an index of platforms"
	}
	return "one image"
}

// byPlatform maps each image of an artifact to its platform (os/arch[/variant]).
func byPlatform(a Artifact) (map[string]v1.Image, error) {
	out := map[string]v1.Image{}
	if a.Index == nil {
		cfg, err := a.Image.ConfigFile()
		if err != nil {
			return nil, err
		}
		out[cfg.Platform().String()] = a.Image
		return out, nil
	}
	var adds []mutate.IndexAddendum
	if err := collect(a.Index, &adds, 0); err != nil {
		return nil, err
	}
	for _, add := range adds {
		platform := "unknown"
		if p := add.Descriptor.Platform; p != nil {
			platform = p.String()
		}
		out[platform] = add.Add.(v1.Image)
	}
	return out, nil
}

// diffImage compares two images of one platform.
func diffImage(want, got v1.Image) ([]string, error) {
	wd, err := want.Digest()
	if err != nil {
		return nil, err
	}
	gd, err := got.Digest()
	if err != nil {
		return nil, err
	}
	if wd == gd {
		return nil, nil
	}
	diffs := []string{fmt.Sprintf("manifest %s ≠ %s", short(wd), short(gd))}
	wm, err := want.Manifest()
	if err != nil {
		return nil, err
	}
	gm, err := got.Manifest()
	if err != nil {
		return nil, err
	}
	if wm.MediaType != gm.MediaType {
		diffs = append(diffs, fmt.Sprintf("manifest media type %s ≠ %s", wm.MediaType, gm.MediaType))
	}
	if !reflect.DeepEqual(wm.Annotations, gm.Annotations) {
		diffs = append(diffs, fmt.Sprintf("manifest annotations %v ≠ %v", wm.Annotations, gm.Annotations))
	}
	wc, err := want.RawConfigFile()
	if err != nil {
		return nil, err
	}
	gc, err := got.RawConfigFile()
	if err != nil {
		return nil, err
	}
	diffs = append(diffs, jsonDiff("config", wc, gc)...)
	wl, err := want.Layers()
	if err != nil {
		return nil, err
	}
	gl, err := got.Layers()
	if err != nil {
		return nil, err
	}
	if len(wl) != len(gl) {
		diffs = append(diffs, fmt.Sprintf("%d layers ≠ %d", len(wl), len(gl)))
	}
	for i := range min(len(wl), len(gl)) {
		d, err := diffLayer(wl[i], gl[i])
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
		for _, line := range d {
			diffs = append(diffs, fmt.Sprintf("layer %d: %s", i+1, line))
		}
	}
	return diffs, nil
}

// jsonDiff lists the paths at which two JSON documents differ, with both values.
func jsonDiff(name string, want, got []byte) []string {
	var w, g any
	if json.Unmarshal(want, &w) != nil || json.Unmarshal(got, &g) != nil {
		return []string{name + ": not comparable as JSON"}
	}
	var diffs []string
	walkDiff(name, w, g, &diffs)
	return capped(diffs)
}

func walkDiff(path string, w, g any, out *[]string) {
	switch wv := w.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range wv {
			keys[k] = true
		}
		for k := range gv {
			keys[k] = true
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		}) {
			walkDiff(path+"."+k, wv[k], gv[k], out)
		}
		return
	case []any:
		gv, ok := g.([]any)
		if !ok || len(wv) != len(gv) {
			break
		}
		for i := range wv {
			walkDiff(fmt.Sprintf("%s[%d]", path, i), wv[i], gv[i], out)
		}
		return
	}
	if !reflect.DeepEqual(w, g) {
		*out = append(*out, fmt.Sprintf("%s: %s ≠ %s", path, jsonValue(w), jsonValue(g)))
	}
}

func jsonValue(v any) string {
	if v == nil {
		return "(absent)"
	}
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:117]) + "…"
	}
	return string(b)
}

// fileEntry is what a layer says about one path.
type fileEntry struct {
	typ              byte
	mode             int64
	size             int64
	sum, link, owner string
	mtime            time.Time
}

func diffLayer(want, got v1.Layer) ([]string, error) {
	wd, err := want.Digest()
	if err != nil {
		return nil, err
	}
	gd, err := got.Digest()
	if err != nil {
		return nil, err
	}
	if wd == gd {
		return nil, nil
	}
	wid, err := want.DiffID()
	if err != nil {
		return nil, err
	}
	gid, err := got.DiffID()
	if err != nil {
		return nil, err
	}
	if wid == gid {
		return []string{fmt.Sprintf("the same files, compressed differently (%s ≠ %s)", short(wd), short(gd))}, nil
	}
	wf, err := files(want)
	if err != nil {
		return nil, err
	}
	gf, err := files(got)
	if err != nil {
		return nil, err
	}
	var diffs []string
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range wf {
			if !yield(n) {
				return
			}
		}
		for n := range gf {
			if _, ok := wf[n]; !ok && !yield(n) {
				return
			}
		}
	}) {
		w, inW := wf[name]
		g, inG := gf[name]
		switch {
		case !inG:
			diffs = append(diffs, name+": only in the first")
		case !inW:
			diffs = append(diffs, name+": only in the second")
		default:
			if d := entryDiff(w, g); d != "" {
				diffs = append(diffs, name+": "+d)
			}
		}
	}
	if len(diffs) == 0 {
		diffs = []string{fmt.Sprintf("the same files in another order or tar encoding (%s ≠ %s)", short(wid), short(gid))}
	}
	return capped(diffs), nil
}

func entryDiff(w, g fileEntry) string {
	var parts []string
	add := func(what string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			parts = append(parts, fmt.Sprintf("%s %v ≠ %v", what, a, b))
		}
	}
	add("type", string(w.typ), string(g.typ))
	add("content", w.sum, g.sum)
	add("size", w.size, g.size)
	add("mode", fmt.Sprintf("%#o", w.mode), fmt.Sprintf("%#o", g.mode))
	add("owner", w.owner, g.owner)
	add("link", w.link, g.link)
	add("mtime", w.mtime.UTC().Format(time.RFC3339Nano), g.mtime.UTC().Format(time.RFC3339Nano))
	return strings.Join(parts, ", ")
}

// files lists a layer's entries by path (as /path).
func files(l v1.Layer) (map[string]fileEntry, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	out := map[string]fileEntry{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil {
			return nil, err
		}
		content := ""
		if h.Typeflag == tar.TypeReg {
			content = "sha256:" + hex.EncodeToString(sum.Sum(nil))[:12]
		}
		out["/"+strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")] = fileEntry{typ: h.Typeflag, mode: h.Mode,
			size: h.Size, sum: content, link: h.Linkname, owner: fmt.Sprintf("%d:%d", h.Uid, h.Gid), mtime: h.ModTime}
	}
}

func short(h v1.Hash) string {
	return h.Algorithm + ":" + h.Hex[:12]
}

// capped keeps the first maxPerPart lines and says how many more there were.
func capped(lines []string) []string {
	if len(lines) <= maxPerPart {
		return lines
	}
	return append(lines[:maxPerPart:maxPerPart], fmt.Sprintf("… and %d more", len(lines)-maxPerPart))
}
