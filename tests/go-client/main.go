// Command go-client verifies a creditlog server with the Go checksum database's reference
// packages golang.org/x/mod/sumdb/tlog and golang.org/x/mod/sumdb/note, which know nothing
// about creditlog: if they accept the log, the log speaks C2SP tlog-tiles, tlog-checkpoint
// and signed-note as the Go ecosystem reads them.
//
// Usage:
//
//	go-client -url http://127.0.0.1:PORT -vkey '<verifier key>' [-old-size M -old-root BASE64]
//
// It opens GET /checkpoint with note.Open, authenticates every hash tile it reads against the
// checkpoint's root with tlog.TileHashReader, reads every entry bundle, checks every entry's
// inclusion with tlog.ProveRecord and tlog.CheckRecord, compares a sample of the server's JSON
// inclusion proofs (and consistency proofs) with the ones tlog computes, and, given an older
// tree, checks consistency with tlog.ProveTree and tlog.CheckTree.
//
// It prints "ok: N entries verified" and exits 0, or prints the first failure and exits 1.
//
// Build offline against Debian's golang-golang-x-mod-dev, without modules:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o go-client ./tests/go-client
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Height of creditlog's tiles (C2SP tlog-tiles fixes it at 8).
const tileHeight = 8

var httpClient = &http.Client{Timeout: 30 * time.Second}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// get fetches base+path and returns the status code and body.
func get(base, path string) (int, []byte, error) {
	resp, err := httpClient.Get(base + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// getOK fetches base+path and fails unless the answer is 200.
func getOK(base, path string) []byte {
	code, body, err := get(base, path)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	if code != http.StatusOK {
		fail("GET %s: HTTP %d: %s", path, code, truncate(body))
	}
	return body
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// c2spPath maps a Go tile path to a C2SP tlog-tiles path: Go's paths carry the tile height
// ("tile/8/0/001", "tile/8/data/001"), C2SP's do not ("tile/0/001", "tile/entries/001").
func c2spPath(t tlog.Tile) string {
	p := t.Path()
	prefix := fmt.Sprintf("tile/%d/", t.H)
	if !strings.HasPrefix(p, prefix) {
		fail("tlog produced an unexpected tile path %q", p)
	}
	rest := strings.TrimPrefix(p, prefix)
	if strings.HasPrefix(rest, "data/") {
		rest = "entries/" + strings.TrimPrefix(rest, "data/")
	}
	return "/tile/" + rest
}

// tileReader implements tlog.TileReader over HTTP with C2SP paths. It keeps what it read in
// memory: tlog.TileHashReader re-authenticates every tile against the tree root on every
// call, so the cache is only a saving of requests, never a source of trust.
type tileReader struct {
	base      string
	cache     map[tlog.Tile][]byte
	requests  int
	fallbacks []string
}

func (r *tileReader) Height() int { return tileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if data, ok := r.cache[t]; ok {
			out[i] = data
			continue
		}
		data, err := r.fetch(t, tlog.HashSize)
		if err != nil {
			return nil, err
		}
		r.cache[t] = data
		out[i] = data
	}
	return out, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// fetch reads one tile (hash tile or entry bundle). A partial tile that the server no longer
// has is read as the full tile and truncated, as C2SP tlog-tiles lets clients do; every such
// fallback is recorded and reported. itemSize is the size of one hash, or 0 for a bundle,
// whose length is not fixed.
func (r *tileReader) fetch(t tlog.Tile, itemSize int) ([]byte, error) {
	path := c2spPath(t)
	r.requests++
	code, body, err := get(r.base, path)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", path, err)
	}
	if code == http.StatusNotFound && t.W < 1<<uint(t.H) {
		full := t
		full.W = 1 << uint(t.H)
		fullPath := c2spPath(full)
		r.requests++
		code2, body2, err2 := get(r.base, fullPath)
		if err2 == nil && code2 == http.StatusOK {
			r.fallbacks = append(r.fallbacks, fmt.Sprintf("%s answered 404, read %s instead", path, fullPath))
			if itemSize > 0 {
				if len(body2) < t.W*itemSize {
					return nil, fmt.Errorf("GET %s: %d bytes, want at least %d", fullPath, len(body2), t.W*itemSize)
				}
				return body2[:t.W*itemSize], nil
			}
			entries, err := splitBundle(body2)
			if err != nil {
				return nil, fmt.Errorf("GET %s: %v", fullPath, err)
			}
			n := 0
			for _, e := range entries[:t.W] {
				n += 2 + len(e)
			}
			return body2[:n], nil
		}
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", path, code, truncate(body))
	}
	if itemSize > 0 && len(body) != t.W*itemSize {
		return nil, fmt.Errorf("GET %s: %d bytes, want %d (%d hashes)", path, len(body), t.W*itemSize, t.W)
	}
	return body, nil
}

// splitBundle splits a C2SP entry bundle: entries each prefixed by a uint16 big-endian length.
func splitBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for off := 0; off < len(data); {
		if len(data)-off < 2 {
			return nil, fmt.Errorf("bundle ends inside the length of entry %d", len(entries))
		}
		n := int(binary.BigEndian.Uint16(data[off:]))
		off += 2
		if len(data)-off < n {
			return nil, fmt.Errorf("bundle ends inside entry %d (%d bytes announced, %d left)", len(entries), n, len(data)-off)
		}
		entries = append(entries, data[off:off+n])
		off += n
	}
	return entries, nil
}

// checkpoint is the body of a C2SP tlog-checkpoint.
type checkpoint struct {
	origin     string
	tree       tlog.Tree
	extensions []string
}

// parseCheckpoint parses a C2SP tlog-checkpoint body: origin line, decimal tree size, base64
// root hash, then optional extension lines. It also hands the last two lines to Go's own
// tlog.ParseTree (the go.sum tree note is the same body with a fixed first line) and checks
// both readings agree.
func parseCheckpoint(text string) (checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return checkpoint{}, fmt.Errorf("checkpoint text does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, fmt.Errorf("checkpoint text has %d lines, want at least 3", len(lines))
	}
	if lines[0] == "" {
		return checkpoint{}, fmt.Errorf("empty origin line")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("tree size %q is not a canonical decimal", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != lines[2] {
		return checkpoint{}, fmt.Errorf("root hash %q is not the base64 of 32 bytes", lines[2])
	}
	for _, ext := range lines[3:] {
		if ext == "" {
			return checkpoint{}, fmt.Errorf("empty extension line")
		}
	}
	cp := checkpoint{origin: lines[0], extensions: lines[3:]}
	cp.tree.N = n
	copy(cp.tree.Hash[:], h)

	goTree, err := tlog.ParseTree([]byte("go.sum database tree\n" + strings.Join(lines[1:], "\n") + "\n"))
	if err != nil {
		return checkpoint{}, fmt.Errorf("tlog.ParseTree rejects the size and root lines: %v", err)
	}
	if goTree != cp.tree {
		return checkpoint{}, fmt.Errorf("tlog.ParseTree reads %v, we read %v", goTree, cp.tree)
	}
	return cp, nil
}

func decodeHashes(what string, b64 []string) []tlog.Hash {
	out := make([]tlog.Hash, len(b64))
	for i, s := range b64 {
		h, err := tlog.ParseHash(s)
		if err != nil {
			fail("%s: proof[%d] = %q is not a base64 hash: %v", what, i, s, err)
		}
		out[i] = h
	}
	return out
}

func sameHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// inclusionJSON is the answer of GET /v1/proof/inclusion.
type inclusionJSON struct {
	Index    int64    `json:"index"`
	Size     int64    `json:"size"`
	RootHash string   `json:"root_hash"`
	Proof    []string `json:"proof"`
}

// consistencyJSON is the answer of GET /v1/proof/consistency.
type consistencyJSON struct {
	From  int64    `json:"from"`
	To    int64    `json:"to"`
	Proof []string `json:"proof"`
}

// checkServerInclusion compares the server's JSON inclusion proof of entry i in the tree of
// size t (root th) with tlog's, and checks it with tlog.CheckRecord.
func checkServerInclusion(base string, hr tlog.HashReader, i, t int64, th, leaf tlog.Hash) {
	path := fmt.Sprintf("/v1/proof/inclusion?index=%d&size=%d", i, t)
	var got inclusionJSON
	if err := json.Unmarshal(getOK(base, path), &got); err != nil {
		fail("GET %s: not the expected JSON: %v", path, err)
	}
	if got.Index != i || got.Size != t {
		fail("GET %s: answered index=%d size=%d", path, got.Index, got.Size)
	}
	if got.RootHash != th.String() {
		fail("GET %s: root_hash %s, but the tree of size %d has root %s", path, got.RootHash, t, th)
	}
	theirs := tlog.RecordProof(decodeHashes(path, got.Proof))
	ours, err := tlog.ProveRecord(t, i, hr)
	if err != nil {
		fail("tlog.ProveRecord(%d, %d): %v", t, i, err)
	}
	if !sameHashes(theirs, ours) {
		fail("GET %s: proof %v differs from tlog.ProveRecord's %v", path, theirs, ours)
	}
	if err := tlog.CheckRecord(theirs, t, th, i, leaf); err != nil {
		fail("GET %s: tlog.CheckRecord rejects the server's proof: %v", path, err)
	}
}

// checkServerConsistency compares the server's JSON consistency proof from m to t with tlog's,
// and checks it with tlog.CheckTree.
func checkServerConsistency(base string, hr tlog.HashReader, m int64, mh tlog.Hash, t int64, th tlog.Hash) {
	path := fmt.Sprintf("/v1/proof/consistency?from=%d&to=%d", m, t)
	var got consistencyJSON
	if err := json.Unmarshal(getOK(base, path), &got); err != nil {
		fail("GET %s: not the expected JSON: %v", path, err)
	}
	if got.From != m || got.To != t {
		fail("GET %s: answered from=%d to=%d", path, got.From, got.To)
	}
	theirs := tlog.TreeProof(decodeHashes(path, got.Proof))
	ours, err := tlog.ProveTree(t, m, hr)
	if err != nil {
		fail("tlog.ProveTree(%d, %d): %v", t, m, err)
	}
	if !sameHashes(theirs, ours) {
		fail("GET %s: proof %v differs from tlog.ProveTree's %v", path, theirs, ours)
	}
	if err := tlog.CheckTree(theirs, t, th, m, mh); err != nil {
		fail("GET %s: tlog.CheckTree rejects the server's proof: %v", path, err)
	}
}

func main() {
	url := flag.String("url", "", "base URL of the creditlog server, e.g. http://127.0.0.1:8080")
	vkey := flag.String("vkey", "", "the log's signed-note verifier key, name+hash+base64")
	oldSize := flag.Int64("old-size", 0, "size of an older tree to check consistency with")
	oldRootB64 := flag.String("old-root", "", "base64 root hash of the older tree")
	flag.Parse()
	if *url == "" || *vkey == "" || flag.NArg() != 0 || (*oldSize != 0) != (*oldRootB64 != "") {
		fmt.Fprintln(os.Stderr, "usage: go-client -url URL -vkey KEY [-old-size M -old-root BASE64]")
		os.Exit(2)
	}
	base := strings.TrimSuffix(*url, "/")

	// The checkpoint, opened by the reference note package.
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("note.NewVerifier(%q): %v", *vkey, err)
	}
	msg := getOK(base, "/checkpoint")
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("note.Open(GET /checkpoint) with key %s: %v\n--- checkpoint ---\n%s", verifier.Name(), err, msg)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		fail("GET /checkpoint: %v\n--- checkpoint ---\n%s", err, msg)
	}
	if cp.origin != verifier.Name() {
		fail("checkpoint origin %q is not the key name %q", cp.origin, verifier.Name())
	}
	tree := cp.tree
	if tree.N == 0 {
		fail("the checkpoint is of an empty tree; nothing to verify")
	}
	fmt.Printf("checkpoint: origin %q, size %d, root %s, %d signature(s) verified, %d extension line(s)\n",
		cp.origin, tree.N, tree.Hash, len(n.Sigs), len(cp.extensions))

	// Every hash read from here on is authenticated against the checkpoint's root.
	reader := &tileReader{base: base, cache: make(map[tlog.Tile][]byte)}
	hr := tlog.TileHashReader(tree, reader)
	root, err := tlog.TreeHash(tree.N, hr)
	if err != nil {
		fail("tlog.TreeHash(%d) over the hash tiles: %v", tree.N, err)
	}
	if root != tree.Hash {
		fail("the hash tiles give root %s, the checkpoint says %s", root, tree.Hash)
	}

	// Every entry, from the entry bundles, hashed and proven included.
	bundles := (tree.N + 255) / 256
	var verified int64
	leaves := make([]tlog.Hash, tree.N)
	for b := int64(0); b < bundles; b++ {
		w := tree.N - b*256
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: tileHeight, L: -1, N: b, W: int(w)}
		data, err := reader.fetch(t, 0)
		if err != nil {
			fail("entry bundle %d: %v", b, err)
		}
		entries, err := splitBundle(data)
		if err != nil {
			fail("GET %s: %v", c2spPath(t), err)
		}
		if int64(len(entries)) != w {
			fail("GET %s: %d entries, want %d", c2spPath(t), len(entries), w)
		}
		// The leaf hashes of the tree, from the authenticated level-0 hash tile.
		hashTile := tlog.Tile{H: tileHeight, L: 0, N: b, W: int(w)}
		tileData, err := tlog.ReadTileData(hashTile, hr)
		if err != nil {
			fail("tlog.ReadTileData(%s): %v", hashTile.Path(), err)
		}
		for k, e := range entries {
			i := b*256 + int64(k)
			leaf := tlog.RecordHash(e)
			var fromTile tlog.Hash
			copy(fromTile[:], tileData[k*tlog.HashSize:])
			if leaf != fromTile {
				fail("entry %d: RecordHash %s, but the level-0 hash tile holds %s", i, leaf, fromTile)
			}
			p, err := tlog.ProveRecord(tree.N, i, hr)
			if err != nil {
				fail("tlog.ProveRecord(%d, %d): %v", tree.N, i, err)
			}
			if err := tlog.CheckRecord(p, tree.N, tree.Hash, i, leaf); err != nil {
				fail("entry %d: tlog.CheckRecord: %v", i, err)
			}
			leaves[i] = leaf
			verified++
		}
	}

	// The server's JSON inclusion proofs for a sample of entries, against the latest tree.
	sample := map[int64]bool{0: true, 1: true, 255: true, 256: true, 257: true, tree.N - 1: true, tree.N / 2: true}
	for i := int64(0); i < tree.N; i += 97 {
		sample[i] = true
	}
	var indices []int64
	for i := range sample {
		if i >= 0 && i < tree.N {
			indices = append(indices, i)
		}
	}
	sort.Slice(indices, func(a, b int) bool { return indices[a] < indices[b] })
	for _, i := range indices {
		checkServerInclusion(base, hr, i, tree.N, tree.Hash, leaves[i])
	}
	// And against smaller trees, whose roots tlog computes from the authenticated tiles.
	for _, t := range []int64{1, 2, 3, 255, 256, 257, 511, 512, 513, tree.N - 1} {
		if t < 1 || t > tree.N {
			continue
		}
		th, err := tlog.TreeHash(t, hr)
		if err != nil {
			fail("tlog.TreeHash(%d): %v", t, err)
		}
		for _, i := range []int64{0, t / 2, t - 1} {
			checkServerInclusion(base, hr, i, t, th, leaves[i])
		}
		checkServerConsistency(base, hr, t, th, tree.N, tree.Hash)
	}
	fmt.Printf("server JSON proofs: %d inclusion proofs and the sampled consistency proofs match tlog's\n", len(indices))

	// Consistency with an older tree.
	if *oldSize != 0 {
		oldRoot, err := tlog.ParseHash(*oldRootB64)
		if err != nil {
			fail("-old-root %q: %v", *oldRootB64, err)
		}
		if *oldSize > tree.N {
			fail("-old-size %d is larger than the checkpoint's size %d", *oldSize, tree.N)
		}
		p, err := tlog.ProveTree(tree.N, *oldSize, hr)
		if err != nil {
			fail("tlog.ProveTree(%d, %d): %v", tree.N, *oldSize, err)
		}
		if err := tlog.CheckTree(p, tree.N, tree.Hash, *oldSize, oldRoot); err != nil {
			fail("the tree of size %d with root %s is not a prefix of the checkpoint's tree: tlog.CheckTree: %v",
				*oldSize, oldRoot, err)
		}
		checkServerConsistency(base, hr, *oldSize, oldRoot, tree.N, tree.Hash)

		// The old tree read on its own, from the tiles a client of that old checkpoint reads
		// (partial tiles of the old width, which the log has since filled).
		oldReader := &tileReader{base: base, cache: make(map[tlog.Tile][]byte)}
		oldHR := tlog.TileHashReader(tlog.Tree{N: *oldSize, Hash: oldRoot}, oldReader)
		got, err := tlog.TreeHash(*oldSize, oldHR)
		if err != nil {
			fail("reading the old tree of size %d from its own tiles: %v", *oldSize, err)
		}
		if got != oldRoot {
			fail("the old tree's tiles give root %s, want %s", got, oldRoot)
		}
		for _, f := range oldReader.fallbacks {
			fmt.Printf("note: old tree: %s\n", f)
		}
		fmt.Printf("consistency: tree %d (%s) is a prefix of tree %d\n", *oldSize, oldRoot, tree.N)
	}

	for _, f := range reader.fallbacks {
		fmt.Printf("note: %s\n", f)
	}
	fmt.Printf("tiles: %d HTTP tile requests\n", reader.requests)
	fmt.Printf("ok: %d entries verified\n", verified)
}
