// Package images makes the images a build exported (OCI tarballs, as Dagger's
// Container.asTarball writes them, one platform or many) reproducible,
// pushes them to a registry, pulls them back, and tells two apart. The
// pipeline runs it in a container rather than in the engine, so that a
// registry reached through a tunnel (one on the caller's machine) works on
// every engine, as a real one does.
package images

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Options are how a registry is reached.
type Options struct {
	Username, Password string // empty: anonymous
	PlainHTTP          bool   // http instead of https
}

func (o Options) remote() []remote.Option {
	auth := authn.Anonymous
	if o.Username != "" {
		auth = authn.FromConfig(authn.AuthConfig{Username: o.Username, Password: o.Password})
	}
	return []remote.Option{remote.WithAuth(auth)}
}

func (o Options) reference(ref string) (name.Reference, error) {
	var opts []name.Option
	if o.PlainHTTP {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reference %q: %w", ref, err)
	}
	return r, nil
}

// Artifact is what gets published under one reference: an image, or an
// index of one image per platform.
type Artifact struct {
	Image v1.Image
	Index v1.ImageIndex
}

// Digest is the artifact's digest, as a registry serves it.
func (a Artifact) Digest() (v1.Hash, error) {
	if a.Index != nil {
		return a.Index.Digest()
	}
	return a.Image.Digest()
}

func (a Artifact) write(ref name.Reference, opts ...remote.Option) error {
	if a.Index != nil {
		return remote.WriteIndex(ref, a.Index, opts...)
	}
	return remote.Write(ref, a.Image, opts...)
}

// Push uploads the artifact of an OCI tarball (one image, or an index) under
// repository:tag for each tag, as it is, and returns repository:tag@digest
// for each.
func Push(tarball, repository string, tags []string, o Options) ([]string, error) {
	if len(tags) == 0 {
		return nil, errors.New("push: no tag given")
	}
	var refs []string
	err := OpenTarball(tarball, func(a Artifact) error {
		digest, err := a.Digest()
		if err != nil {
			return err
		}
		for _, tag := range tags {
			ref, err := o.reference(repository + ":" + tag)
			if err != nil {
				return err
			}
			if err := a.write(ref, o.remote()...); err != nil {
				return fmt.Errorf("push %s: %w", ref, err)
			}
			refs = append(refs, repository+":"+tag+"@"+digest.String())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", tarball, err)
	}
	return refs, nil
}

// NormalizeTarball reads what a build exported (an OCI tarball of one
// platform or several, as Dagger's Container.asTarball writes it), stamps
// every image with s (see Normalize) and writes the result to out as an OCI
// tarball that is the same bytes for the same input: one image, or an index
// of the platforms in the order given. It returns the artifact's digest.
func NormalizeTarball(in, out string, s Stamp) (v1.Hash, error) {
	if s.Epoch.IsZero() {
		return v1.Hash{}, errors.New("normalize: no epoch: give the commit's time (--source-date-epoch or SOURCE_DATE_EPOCH)")
	}
	var digest v1.Hash
	err := withLayout(in, func(idx v1.ImageIndex) error {
		var adds []mutate.IndexAddendum
		if err := collect(idx, &adds, 0); err != nil {
			return err
		}
		if len(adds) == 0 {
			return errors.New("the layout holds no image")
		}
		for i, add := range adds {
			img, err := Normalize(add.Add.(v1.Image), s)
			if err != nil {
				return fmt.Errorf("image %d of %d: %w", i+1, len(adds), err)
			}
			adds[i].Add = img
		}
		a := Artifact{Image: adds[0].Add.(v1.Image)}
		if len(adds) > 1 {
			a = Artifact{Index: mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)}
		}
		var err error
		if digest, err = a.Digest(); err != nil {
			return err
		}
		return WriteTarball(a, out, s.Epoch)
	})
	if err != nil {
		return v1.Hash{}, fmt.Errorf("normalize %s: %w", in, err)
	}
	return digest, nil
}

// DiffIDs are the layers' diff IDs of each image an OCI tarball holds, by
// platform (os/arch[/variant]): the Base of a Stamp.
func DiffIDs(tarball string) (map[string][]v1.Hash, error) {
	ids := map[string][]v1.Hash{}
	err := withLayout(tarball, func(idx v1.ImageIndex) error {
		var adds []mutate.IndexAddendum
		if err := collect(idx, &adds, 0); err != nil {
			return err
		}
		for _, add := range adds {
			cfg, err := add.Add.(v1.Image).ConfigFile()
			if err != nil {
				return err
			}
			ids[cfg.Platform().String()] = cfg.RootFS.DiffIDs
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", tarball, err)
	}
	return ids, nil
}

// WriteTarball writes the artifact as an OCI image layout in a tarball whose
// bytes depend only on the artifact: entries in name order, every time the
// epoch, no owner.
func WriteTarball(a Artifact, tarball string, epoch time.Time) error {
	dir, err := os.MkdirTemp("", "image-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if a.Index != nil {
		err = lp.AppendIndex(a.Index)
	} else {
		err = lp.AppendImage(a.Image)
	}
	if err != nil {
		return err
	}
	if err := writeDockerManifest(a, dir); err != nil {
		return err
	}
	return tarDir(dir, tarball, epoch)
}

// writeDockerManifest adds the manifest.json of `docker save` beside the
// layout, naming the same blobs, as Docker's and containerd's exporters do:
// docker load and Trivy read the tarball too.
func writeDockerManifest(a Artifact, dir string) error {
	imgs := []v1.Image{a.Image}
	if a.Index != nil {
		var adds []mutate.IndexAddendum
		if err := collect(a.Index, &adds, 0); err != nil {
			return err
		}
		imgs = imgs[:0]
		for _, add := range adds {
			imgs = append(imgs, add.Add.(v1.Image))
		}
	}
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	blob := func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
	var entries []entry
	for _, img := range imgs {
		m, err := img.Manifest()
		if err != nil {
			return err
		}
		e := entry{Config: blob(m.Config.Digest), Layers: []string{}}
		for _, l := range m.Layers {
			e.Layers = append(e.Layers, blob(l.Digest))
		}
		entries = append(entries, e)
	}
	b, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644)
}

// OpenTarball calls f with the artifact of an OCI tarball that names one
// image or index (as Push and WriteTarball take and write them).
func OpenTarball(tarball string, f func(Artifact) error) error {
	return withLayout(tarball, func(idx v1.ImageIndex) error {
		a, err := artifactOf(idx)
		if err != nil {
			return err
		}
		return f(a)
	})
}

// Fetch reads the artifact a reference names (a tag or a digest) from its registry.
func Fetch(ref string, o Options) (Artifact, error) {
	r, err := o.reference(ref)
	if err != nil {
		return Artifact{}, err
	}
	desc, err := remote.Get(r, o.remote()...)
	if err != nil {
		return Artifact{}, fmt.Errorf("fetch %s: %w", ref, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		return Artifact{Index: idx}, err
	}
	img, err := desc.Image()
	return Artifact{Image: img}, err
}

// withLayout unpacks an OCI tarball and calls f with its index.
func withLayout(tarball string, f func(v1.ImageIndex) error) error {
	dir, err := os.MkdirTemp("", "image-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := untar(tarball, dir); err != nil {
		return err
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return fmt.Errorf("not an OCI layout: %w", err)
	}
	return f(idx)
}

// artifactOf is what a layout's index.json names: its one image or index.
func artifactOf(idx v1.ImageIndex) (Artifact, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return Artifact{}, err
	}
	if len(im.Manifests) != 1 {
		return Artifact{}, fmt.Errorf("the layout names %d manifests, want one image or index", len(im.Manifests))
	}
	d := im.Manifests[0]
	if d.MediaType.IsIndex() {
		nested, err := idx.ImageIndex(d.Digest)
		return Artifact{Index: nested}, err
	}
	img, err := idx.Image(d.Digest)
	return Artifact{Image: img}, err
}

// collect gathers the images of an index, through nested indexes, with their platforms.
func collect(idx v1.ImageIndex, adds *[]mutate.IndexAddendum, depth int) error {
	if depth > 3 {
		return errors.New("indexes nested too deep")
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		if d.MediaType.IsIndex() {
			nested, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := collect(nested, adds, depth+1); err != nil {
				return err
			}
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		*adds = append(*adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: d.Platform}})
	}
	return nil
}

// Pull fetches ref (tag or digest) for the platform (e.g. linux/amd64) and
// writes it as an OCI tarball, with the digest the registry serves.
func Pull(ref, platform, tarball string, o Options) (v1.Hash, error) {
	r, err := o.reference(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return v1.Hash{}, err
	}
	desc, err := remote.Get(r, append(o.remote(), remote.WithPlatform(*p))...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	img, err := desc.Image()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	dir, err := os.MkdirTemp("", "image-layout-")
	if err != nil {
		return v1.Hash{}, err
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := lp.AppendImage(img); err != nil {
		return v1.Hash{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	return desc.Digest, tarDir(dir, tarball, time.Unix(0, 0))
}

// untar unpacks a tarball's regular files and folders into dir, refusing
// paths that leave it.
func untar(tarball, dir string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(target, filepath.Clean(dir)+string(os.PathSeparator)) {
			return fmt.Errorf("entry %q leaves the archive", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.Create(target)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

// tarDir packs dir's files into a tarball, in name order, with the mode
// of a plain file and the epoch for every time: the same files give the same bytes.
func tarDir(dir, tarball string, epoch time.Time) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	slices.Sort(files)
	f, err := os.Create(tarball)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, p := range files {
		if err = addFile(tw, dir, p, epoch); err != nil {
			break
		}
	}
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func addFile(tw *tar.Writer, dir, p string, epoch time.Time) error {
	src, err := os.Open(p)
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(dir, p)
	h := &tar.Header{Typeflag: tar.TypeReg, Name: filepath.ToSlash(rel), Mode: 0o644, Size: info.Size(),
		ModTime: epoch.UTC().Truncate(time.Second), Format: tar.FormatPAX}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}
