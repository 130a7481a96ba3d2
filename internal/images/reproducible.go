package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Reproducible images. Dagger v0.19.10 stamps every image it exports with the
// time: the configuration's created time and each history entry's come from
// the engine's cache records (when a layer was built or pulled), and every
// file a build writes carries the time it was written. None of its exporters
// takes BuildKit's source-date-epoch or rewrite-timestamp. So the images are
// made reproducible here, after the build and before anything is pushed: the
// times become the commit's (SOURCE_DATE_EPOCH), as BuildKit's
// rewrite-timestamp would make them.

// Stamp is what Normalize gives an image: the time it is stamped with (the
// commit's) and, optionally, the health check Dagger's builds drop.
type Stamp struct {
	Epoch time.Time
	// Healthcheck, when set, goes into the configuration: Dagger v0.19.10's
	// Dockerfile builds drop HEALTHCHECK (dagger/dagger#9515).
	Healthcheck *v1.HealthConfig
}

// layerCompression is the gzip level of rewritten layers: Go's compress/gzip
// gives the same bytes for the same input at a given level.
const layerCompression = gzip.DefaultCompression

// Normalize returns img stamped with s: created and every history entry at
// the epoch (with nothing else in it but whether it made a layer), and in
// each layer every file time later than the epoch set to it. A layer with no time after the epoch,
// such as a base image's, is kept byte for byte, so registries still share
// it. The result depends only on what the build produced and on s.
func Normalize(img v1.Image, s Stamp) (v1.Image, error) {
	if s.Epoch.IsZero() {
		return nil, errors.New("normalize: no epoch (SOURCE_DATE_EPOCH) given")
	}
	epoch := s.Epoch.UTC().Truncate(time.Second)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	for i, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			return nil, err
		}
		if layers[i], err = clampLayer(l, mt, epoch); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
	}
	cfg.Created = v1.Time{Time: epoch}
	for i, h := range cfg.History {
		// What Dagger records of each layer is the engine's cache record, not
		// the recipe: the same layer reads "pulled from node@sha256:…" or
		// "created by buildkit", "[runner 2/4] WORKDIR /app" or "[deps 2/5]
		// WORKDIR /app", depending on which step first made it on that
		// engine. The recipe is in the provenance.
		cfg.History[i] = v1.History{Created: v1.Time{Time: epoch}, EmptyLayer: h.EmptyLayer}
	}
	if s.Healthcheck != nil {
		cfg.Config.Healthcheck = s.Healthcheck
	}
	return WithLayers(img, layers, cfg)
}

// WithLayers is img with other layers (one for each of its own, in order)
// and configuration, whose diff IDs it sets; media types and annotations
// are kept.
func WithLayers(img v1.Image, layers []v1.Layer, cfg *v1.ConfigFile) (v1.Image, error) {
	manifest, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if len(layers) != len(manifest.Layers) {
		return nil, fmt.Errorf("%d layers for an image of %d", len(layers), len(manifest.Layers))
	}
	cfg = cfg.DeepCopy()
	cfg.RootFS.DiffIDs = make([]v1.Hash, len(layers))
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		if cfg.RootFS.DiffIDs[i], err = l.DiffID(); err != nil {
			return nil, err
		}
		adds[i] = mutate.Addendum{Layer: l, MediaType: manifest.Layers[i].MediaType, Annotations: manifest.Layers[i].Annotations}
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, manifest.MediaType), manifest.Config.MediaType)
	out, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	if out, err = mutate.ConfigFile(out, cfg); err != nil {
		return nil, err
	}
	if len(manifest.Annotations) > 0 {
		out = mutate.Annotations(out, manifest.Annotations).(v1.Image)
	}
	return out, nil
}

// clampLayer is l with every file time after epoch set to epoch, or l itself
// when it has none.
func clampLayer(l v1.Layer, mt types.MediaType, epoch time.Time) (v1.Layer, error) {
	if !mt.IsLayer() {
		return nil, fmt.Errorf("media type %s is not a layer", mt)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	tr, tw := tar.NewReader(rc), tar.NewWriter(&buf)
	changed := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if clampHeader(h, epoch) {
			changed = true
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	if !changed {
		return l, nil
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(mt), tarball.WithCompressionLevel(layerCompression))
}

// clampHeader sets each time after epoch to epoch and reports whether it
// changed one.
func clampHeader(h *tar.Header, epoch time.Time) bool {
	changed := false
	for _, t := range []*time.Time{&h.ModTime, &h.AccessTime, &h.ChangeTime} {
		if t.After(epoch) {
			*t = epoch
			changed = true
		}
	}
	// The writer records times from the fields above; stale records would contradict them.
	for _, key := range []string{"mtime", "atime", "ctime"} {
		delete(h.PAXRecords, key)
	}
	return changed
}
