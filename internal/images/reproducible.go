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
// made reproducible here, after the build and before anything is pushed:
// every time the build wrote becomes the commit's (SOURCE_DATE_EPOCH).
//
// Set, not clamped as BuildKit's rewrite-timestamp does: a step the engine
// serves from its cache keeps the times of the build that first ran it, which
// may be older than the commit (an unchanged frontend rebuilt for a later
// commit kept the times of the earlier build). Only the base image's layers
// keep their times: they are fixed bytes, pinned by digest.

// Stamp is what Normalize gives an image: the time it is stamped with (the
// commit's), the layers of its base image to keep, and, optionally, the
// health check Dagger's builds drop.
type Stamp struct {
	Epoch time.Time
	// Base are the diff IDs of the base image's layers (of the final
	// stage), by platform (os/arch[/variant]): a build's first layers are
	// the base's, kept byte for byte so that registries share them. Without
	// them every layer is stamped.
	Base map[string][]v1.Hash
	// Healthcheck, when set, goes into the configuration: Dagger v0.19.10's
	// Dockerfile builds drop HEALTHCHECK (dagger/dagger#9515).
	Healthcheck *v1.HealthConfig
}

// baseOf is the base's diff IDs for a platform; linux/arm64 and
// linux/arm64/v8 are one (exporters differ in writing the variant).
func (s Stamp) baseOf(p *v1.Platform) []v1.Hash {
	if ids, ok := s.Base[p.String()]; ok {
		return ids
	}
	for key, ids := range s.Base {
		if other, err := v1.ParsePlatform(key); err == nil && other.OS == p.OS && other.Architecture == p.Architecture {
			return ids
		}
	}
	return nil
}

// layerCompression is the gzip level of rewritten layers: Go's compress/gzip
// gives the same bytes for the same input at a given level.
const layerCompression = gzip.DefaultCompression

// Normalize returns img stamped with s: created and every history entry at
// the epoch (with nothing else in it but whether it made a layer), and every
// file time in every layer above the base image's set to it. The result
// depends only on the files the build produced and on s.
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
	base := s.baseOf(cfg.Platform())
	ownFrom := 0 // the first layer the build made
	for ownFrom < len(layers) && ownFrom < len(base) {
		id, err := layers[ownFrom].DiffID()
		if err != nil {
			return nil, err
		}
		if id != base[ownFrom] {
			break
		}
		ownFrom++
	}
	if len(base) > 0 && ownFrom < len(base) {
		return nil, fmt.Errorf("the image's first layers are not those of its base (%d of %d match): built on another base image?", ownFrom, len(base))
	}
	for i := ownFrom; i < len(layers); i++ {
		mt, err := layers[i].MediaType()
		if err != nil {
			return nil, err
		}
		if layers[i], err = stampLayer(layers[i], mt, epoch); err != nil {
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

// stampLayer is l with every file time set to epoch, or l itself when
// they all are already.
func stampLayer(l v1.Layer, mt types.MediaType, epoch time.Time) (v1.Layer, error) {
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
		if stampHeader(h, epoch) {
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

// stampHeader sets the entry's time to epoch and drops access and change
// times, which no image needs; it reports whether anything changed.
func stampHeader(h *tar.Header, epoch time.Time) bool {
	changed := !h.ModTime.Equal(epoch) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero()
	h.ModTime, h.AccessTime, h.ChangeTime = epoch, time.Time{}, time.Time{}
	// The writer records times from the fields above; stale records would contradict them.
	for _, key := range []string{"mtime", "atime", "ctime"} {
		if _, ok := h.PAXRecords[key]; ok {
			delete(h.PAXRecords, key)
			changed = true
		}
	}
	return changed
}
