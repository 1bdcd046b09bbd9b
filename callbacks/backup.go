package callbacks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Backupper is a callback that keeps the whole training state so that an
// interrupted Fit can resume exactly where it stopped (BackupAndRestore).
// Fit, not the callback, decides what the state holds (weights, optimizer
// state, random streams, position, History, the other callbacks' state) and
// hands it over as named files:
//
//   - before TrainBegin, Fit calls Load and, if it returns files, resumes
//     from them;
//   - after every callback has seen a batch's end (step is 1-based) or an
//     epoch's end (step is the number of steps), Fit asks Due and, if a
//     backup is due, calls Save;
//   - when the context is cancelled, Fit saves the position reached (the
//     last finished step), whatever Due says.
type Backupper interface {
	Callback
	// Load returns the files of the newest good backup, nil if there is
	// none, or an error if backups exist but none can be used.
	Load() (files map[string][]byte, err error)
	// Due reports whether a backup is due after step (1-based) of epoch
	// (0-based); steps is the number of steps per epoch, epochEnd says the
	// epoch's end has been handled.
	Due(epoch, step, steps int, epochEnd bool) bool
	// Save writes files as the newest backup.
	Save(files map[string][]byte) error
}

// Stateful is a callback whose state a backup keeps (EarlyStopping's best
// value and wait, CSVLogger's file position, ...). Fit calls
// UnmarshalState before TrainBegin when it resumes; TrainBegin then
// continues from that state instead of starting afresh.
type Stateful interface {
	Callback
	// MarshalState returns the callback's state.
	MarshalState() ([]byte, error)
	// UnmarshalState sets the state to apply at the next TrainBegin.
	UnmarshalState(b []byte) error
}

// BackupAndRestore backs the training state up to BackupDir, like Keras'
// BackupAndRestore: a Fit given a BackupAndRestore whose directory holds a
// backup resumes from it automatically, and, with DeleteCheckpoint, the
// backups are removed when training ends normally (not when it is
// interrupted).
//
// A backup is a directory BackupDir/backup-NNNNNNNN holding the files Fit
// gives (weights.safetensors, optimizer.safetensors, state.json) and a
// MANIFEST listing each file's size and SHA-256, ending with the SHA-256 of
// the lines before it. Each file is written to a temporary directory in
// BackupDir and fsynced, the temporary directory is fsynced and renamed,
// and BackupDir fsynced; the two newest good backups are kept. Load checks
// every checksum: a damaged or partial backup is reported on Warn and never
// loaded, and the previous one is used.
type BackupAndRestore struct {
	// BackupDir is the backup directory (created if missing).
	BackupDir string
	// SaveFreq is 0 to back up at the end of every epoch (Keras'
	// save_freq="epoch"), or N > 0 to back up every N batches, counted from
	// the start of training (epoch·steps + step is a multiple of N).
	SaveFreq int
	// DeleteCheckpoint removes the backups when training ends normally
	// (Keras' default, true).
	DeleteCheckpoint bool
	// Warn receives warnings (damaged backups); nil means os.Stderr.
	Warn io.Writer
	// Info, if set, receives a line saying where training resumes.
	Info io.Writer

	seq  int    // the newest generation number seen or written
	keep string // the last good generation (loaded or written)
	// Loaded is the directory of the backup Load resumed from ("" if none).
	Loaded string
}

// NewBackupAndRestore returns a BackupAndRestore with Keras' defaults
// (save_freq "epoch", delete_checkpoint true).
func NewBackupAndRestore(dir string) *BackupAndRestore {
	return &BackupAndRestore{BackupDir: dir, DeleteCheckpoint: true}
}

// ManifestName is the name of a backup's manifest file.
const ManifestName = "MANIFEST"

const manifestHeader = "kiln-backup 1"

func (b *BackupAndRestore) warn(format string, a ...any) {
	w := b.Warn
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "kiln: warning: "+format+"\n", a...)
}

// Resumed is called by Fit once it has restored the backup Load returned:
// step steps of epoch (0-based) were done, of steps per epoch. It writes a
// line to Info.
func (b *BackupAndRestore) Resumed(epoch, step, steps int) {
	if b.Info == nil {
		return
	}
	if step == 0 {
		fmt.Fprintf(b.Info, "kiln: resuming from the backup %s: %d epoch(s) done\n", b.Loaded, epoch)
		return
	}
	fmt.Fprintf(b.Info, "kiln: resuming from the backup %s: epoch %d, %d of %d steps done\n", b.Loaded, epoch+1, step, steps)
}

// TrainBegin does nothing (Fit restores before it).
func (b *BackupAndRestore) TrainBegin(Params, *Control) {}

// EpochBegin does nothing.
func (b *BackupAndRestore) EpochBegin(int) {}

// BatchEnd does nothing (Fit asks Due).
func (b *BackupAndRestore) BatchEnd(int, Logs) {}

// EpochEnd does nothing (Fit asks Due).
func (b *BackupAndRestore) EpochEnd(int, Logs) {}

// TrainEnd removes the backups if DeleteCheckpoint is set.
func (b *BackupAndRestore) TrainEnd(Logs) {
	if !b.DeleteCheckpoint {
		return
	}
	gens, _ := generations(b.BackupDir)
	for _, g := range gens {
		if err := os.RemoveAll(filepath.Join(b.BackupDir, g.name)); err != nil {
			b.warn("BackupAndRestore: could not delete the backup %s: %v", filepath.Join(b.BackupDir, g.name), err)
		}
	}
	os.Remove(b.BackupDir) // only if empty
}

// Due reports whether a backup is due: at every epoch end with SaveFreq 0,
// else after every SaveFreq-th batch counted from the start of training.
func (b *BackupAndRestore) Due(epoch, step, steps int, epochEnd bool) bool {
	if b.SaveFreq <= 0 {
		return epochEnd
	}
	return !epochEnd && (epoch*steps+step)%b.SaveFreq == 0
}

type generation struct {
	name string
	seq  int
}

// generations lists the backup-NNNNNNNN directories of dir, newest first.
func generations(dir string) ([]generation, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var gs []generation
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "backup-")
		if !ok || !e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			continue
		}
		gs = append(gs, generation{e.Name(), n})
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].seq > gs[j].seq })
	return gs, nil
}

// Load returns the files of the newest backup whose checksums all verify.
// Damaged backups are reported on Warn and skipped; if backups exist but
// none verifies, Load returns an error naming them.
func (b *BackupAndRestore) Load() (map[string][]byte, error) {
	b.Loaded = ""
	gens, err := generations(b.BackupDir)
	if err != nil {
		return nil, fmt.Errorf("BackupAndRestore: cannot read the backup directory %s: %v", b.BackupDir, err)
	}
	if len(gens) > 0 {
		b.seq = gens[0].seq
	}
	var bad []string
	for _, g := range gens {
		dir := filepath.Join(b.BackupDir, g.name)
		files, err := ReadBackup(dir)
		if err != nil {
			if len(gens) > len(bad)+1 {
				b.warn("BackupAndRestore: %v; it is not used, trying the previous backup", err)
			}
			bad = append(bad, err.Error())
			continue
		}
		if len(bad) > 0 {
			b.warn("BackupAndRestore: resuming from the previous backup %s instead", dir)
		}
		b.keep = g.name
		b.Loaded = dir
		return files, nil
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("BackupAndRestore: no usable backup in %s: %s; remove the directory (or move it away) to start training afresh", b.BackupDir, strings.Join(bad, "; "))
	}
	return nil, nil
}

// ReadBackup reads the backup in dir and checks it (see VerifyBackup).
func ReadBackup(dir string) (map[string][]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup %s is incomplete or damaged: %v", dir, err)
	}
	all := map[string][]byte{}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("backup %s is incomplete or damaged: %v", dir, err)
		}
		all[e.Name()] = data
	}
	files, err := VerifyBackup(all)
	if err != nil {
		return nil, fmt.Errorf("backup %s is incomplete or damaged: %v", dir, err)
	}
	return files, nil
}

// VerifyBackup checks the files of a backup (by name, MANIFEST included)
// and returns them without the MANIFEST: every file it lists must be
// present with its size and SHA-256, no other file may be there, and the
// manifest's own checksum must match. The error says what is wrong.
func VerifyBackup(all map[string][]byte) (map[string][]byte, error) {
	mb, ok := all[ManifestName]
	if !ok {
		return nil, fmt.Errorf("no %s", ManifestName)
	}
	want, err := parseManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", ManifestName, err)
	}
	files := map[string][]byte{}
	for name, data := range all {
		if name == ManifestName {
			continue
		}
		m, ok := want[name]
		if !ok {
			return nil, fmt.Errorf("%s is not in the %s", name, ManifestName)
		}
		if sum := sha256.Sum256(data); int64(len(data)) != m.size || sum != m.sum {
			return nil, fmt.Errorf("%s does not match its checksum (%d bytes, %d expected)", name, len(data), m.size)
		}
		files[name] = data
	}
	for name := range want {
		if _, ok := files[name]; !ok {
			return nil, fmt.Errorf("%s is missing", name)
		}
	}
	return files, nil
}

type manifestEntry struct {
	size int64
	sum  [32]byte
}

// manifest returns the MANIFEST of files: a header line, one line
// "SHA256 SIZE NAME" per file (sorted by name), and "sha256 HEX" of the
// lines before it.
func manifest(files map[string][]byte) []byte {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	buf.WriteString(manifestHeader + "\n")
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(&buf, "%x %d %s\n", sum, len(files[n]), n)
	}
	sum := sha256.Sum256(buf.Bytes())
	fmt.Fprintf(&buf, "sha256 %x\n", sum)
	return buf.Bytes()
}

func parseManifest(b []byte) (map[string]manifestEntry, error) {
	body, last, ok := cutLastLine(b)
	if !ok {
		return nil, errors.New("truncated")
	}
	self, ok := strings.CutPrefix(last, "sha256 ")
	if !ok {
		return nil, errors.New("no checksum line")
	}
	sum := sha256.Sum256(body)
	if self != hex.EncodeToString(sum[:]) {
		return nil, errors.New("its checksum does not match")
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) == 0 || lines[0] != manifestHeader {
		return nil, fmt.Errorf("not a kiln backup manifest (want first line %q)", manifestHeader)
	}
	out := map[string]manifestEntry{}
	for _, l := range lines[1:] {
		f := strings.SplitN(l, " ", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("bad line %q", l)
		}
		var e manifestEntry
		h, err := hex.DecodeString(f[0])
		if err != nil || len(h) != 32 {
			return nil, fmt.Errorf("bad checksum in line %q", l)
		}
		copy(e.sum[:], h)
		if e.size, err = strconv.ParseInt(f[1], 10, 64); err != nil || e.size < 0 {
			return nil, fmt.Errorf("bad size in line %q", l)
		}
		name := f[2]
		if name == "" || name == ManifestName || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
			return nil, fmt.Errorf("bad file name in line %q", l)
		}
		out[name] = e
	}
	return out, nil
}

// cutLastLine splits b, which must end in a newline, before its last line.
func cutLastLine(b []byte) (body []byte, last string, ok bool) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, "", false
	}
	i := bytes.LastIndexByte(b[:len(b)-1], '\n')
	if i < 0 {
		return nil, "", false
	}
	return b[:i+1], string(b[i+1 : len(b)-1]), true
}

// Save writes files as a new backup generation, atomically: into a
// temporary directory in BackupDir (each file fsynced, then the MANIFEST,
// then the directory), renamed to backup-NNNNNNNN, then BackupDir fsynced.
// Older generations but the previous good one are removed afterwards.
func (b *BackupAndRestore) Save(files map[string][]byte) error {
	if err := os.MkdirAll(b.BackupDir, 0o755); err != nil {
		return fmt.Errorf("BackupAndRestore: cannot create the backup directory: %v", err)
	}
	if b.seq == 0 {
		if gens, err := generations(b.BackupDir); err == nil && len(gens) > 0 {
			b.seq = gens[0].seq
		}
	}
	b.seq++
	name := fmt.Sprintf("backup-%08d", b.seq)
	tmp, err := os.MkdirTemp(b.BackupDir, ".tmp-"+name+"-")
	if err != nil {
		return fmt.Errorf("BackupAndRestore: %v", err)
	}
	defer os.RemoveAll(tmp) // a no-op after the rename
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := writeFile(filepath.Join(tmp, n), files[n]); err != nil {
			return b.writeErr(err)
		}
	}
	if err := writeSynced(filepath.Join(tmp, ManifestName), manifest(files)); err != nil {
		return b.writeErr(err)
	}
	if err := syncDir(tmp); err != nil {
		return fmt.Errorf("BackupAndRestore: %v", err)
	}
	final := filepath.Join(b.BackupDir, name)
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("BackupAndRestore: %v (the previous backup is kept)", err)
	}
	if err := syncDir(b.BackupDir); err != nil {
		return fmt.Errorf("BackupAndRestore: %v", err)
	}
	prev := b.keep
	b.keep = name
	gens, _ := generations(b.BackupDir)
	for _, g := range gens {
		if g.name != name && g.name != prev {
			os.RemoveAll(filepath.Join(b.BackupDir, g.name))
		}
	}
	// Temporary directories of a killed writer.
	if ents, err := os.ReadDir(b.BackupDir); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".tmp-backup-") {
				os.RemoveAll(filepath.Join(b.BackupDir, e.Name()))
			}
		}
	}
	return nil
}

// writeFile writes a backup file (tests inject write errors here).
var writeFile = writeSynced

func (b *BackupAndRestore) writeErr(err error) error {
	return fmt.Errorf("BackupAndRestore: writing the backup in %s: %v; the previous backup is kept: free space there (or set another backup_dir and move the backups there), then run again to resume", b.BackupDir, err)
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %v", dir, err)
	}
	return nil
}
