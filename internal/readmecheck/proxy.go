package readmecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ModulePath is the module the quickstart installs.
const ModulePath = "github.com/necrostack/necrostack"

// UserEnv is the environment of a new user of a published version of the
// module, without the network: a file-based module proxy that serves this
// checkout's committed HEAD (`git archive HEAD`) as the module's one and
// latest version, falling back for every other module to the download cache
// of the caller's module cache, which `go mod download` fills; a module cache
// of its own, empty at first; no GOFLAGS, no workspace, no checksum database
// (it is on the network). Close removes it all.
type UserEnv struct {
	Version string   // the version HEAD is served as, a pseudo-version
	Env     []string // the caller's environment with the above in place
	dir     string
}

// goVars are the variables UserEnv sets or clears.
var goVars = []string{"GOFLAGS", "GOPROXY", "GOMODCACHE", "GOSUMDB", "GONOSUMDB", "GONOSUMCHECK", "GOPRIVATE", "GONOPROXY", "GOINSECURE", "GOWORK", "GOTOOLCHAIN", "GOVCS"}

// NewUserEnv builds a UserEnv for the checkout at root in a new temporary
// directory.
func NewUserEnv(root string) (*UserEnv, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
		cmd.Env = append(os.Environ(), "TZ=UTC")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return string(out), nil
	}
	head, err := git("log", "-1", "--format=%H %cd", "--date=format-local:%Y%m%d%H%M%S")
	if err != nil {
		return nil, fmt.Errorf("the quickstart installs this checkout's HEAD, so it needs a git checkout: %w", err)
	}
	hash, stamp, _ := strings.Cut(strings.TrimSpace(head), " ")
	commitTime, err := time.Parse("20060102150405", stamp)
	if err != nil {
		return nil, err
	}
	u := &UserEnv{Version: "v0.0.0-" + stamp + "-" + hash[:12]}
	if u.dir, err = os.MkdirTemp("", "readmecheck-user-"); err != nil {
		return nil, err
	}
	proxy := filepath.Join(u.dir, "proxy")
	at := filepath.Join(proxy, filepath.FromSlash(ModulePath), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		u.Close()
		return nil, err
	}
	// A module zip holds no nested module: leave out every directory with
	// a go.mod of its own.
	nested, err := git("ls-files", "--", "*/go.mod")
	if err != nil {
		u.Close()
		return nil, err
	}
	args := []string{"archive", "--format=zip", "--prefix=" + ModulePath + "@" + u.Version + "/", "-o", filepath.Join(at, u.Version+".zip"), "HEAD", "--", "."}
	for _, mod := range strings.Fields(nested) {
		args = append(args, ":(exclude)"+filepath.ToSlash(filepath.Dir(mod)))
	}
	if _, err := git(args...); err != nil {
		u.Close()
		return nil, err
	}
	gomod, err := git("show", "HEAD:go.mod")
	if err != nil {
		u.Close()
		return nil, err
	}
	info, _ := json.Marshal(map[string]any{"Version": u.Version, "Time": commitTime.UTC()})
	for name, data := range map[string][]byte{
		filepath.Join(at, "list"):                  nil, // no tags: @latest answers
		filepath.Join(at, u.Version+".info"):       info,
		filepath.Join(at, u.Version+".mod"):        []byte(gomod),
		filepath.Join(filepath.Dir(at), "@latest"): info,
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			u.Close()
			return nil, err
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			u.Close()
			return nil, err
		}
	}
	callerCache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		u.Close()
		return nil, fmt.Errorf("go env GOMODCACHE: %v", err)
	}
	download := filepath.Join(strings.TrimSpace(string(callerCache)), "cache", "download")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !contains(goVars, k) {
			u.Env = append(u.Env, kv)
		}
	}
	u.Env = append(u.Env,
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(download),
		"GOMODCACHE="+filepath.Join(u.dir, "modcache"),
		"GOSUMDB=off",
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	)
	return u, nil
}

// Close removes the proxy and the module cache (whose files the go command
// makes read-only).
func (u *UserEnv) Close() error {
	if u.dir == "" {
		return nil
	}
	cache := filepath.Join(u.dir, "modcache")
	filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(u.dir)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
