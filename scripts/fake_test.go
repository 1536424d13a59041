package scripts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The fakes are this test binary itself: run under the name gcloud, curl,
// terraform or watchrelay (a symlink early on PATH), it answers from the
// scenario a test wrote to $SMOKE_FAKE_DIR, and logs each call there.
func TestMain(m *testing.M) {
	switch tool := filepath.Base(os.Args[0]); tool {
	case "gcloud", "curl", "terraform", "watchrelay":
		os.Exit(fake(tool, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// answer is what a fake prints and how it exits. For curl, Out is the
// response body (written to -o) and Code the status -w prints; a non-zero
// Exit is a transport error, for which curl prints 000.
type answer struct {
	Out, Err string
	Exit     int
	Code     string
}

// rule answers the calls of Tool whose command line holds every string of
// Match: the nth such call gets Answers[n], later ones the last answer.
// The first rule that matches answers.
type rule struct {
	Tool    string
	Match   []string
	Answers []answer
}

func fake(tool string, args []string) int {
	dir := os.Getenv("SMOKE_FAKE_DIR")
	line := strings.Join(args, " ")
	logf, err := os.OpenFile(filepath.Join(dir, "calls"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintf(logf, "%s %s\n", tool, line)
		logf.Close()
	}
	if tool == "watchrelay" {
		// The CLI reads a token given as "-" from stdin: kept for the
		// test to see, as the real one would read it.
		in, _ := io.ReadAll(os.Stdin)
		os.WriteFile(filepath.Join(dir, "stdin"), in, 0o600)
	}
	b, err := os.ReadFile(filepath.Join(dir, "scenario.json"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake:", err)
		return 98
	}
	var rules []rule
	if err := json.Unmarshal(b, &rules); err != nil {
		fmt.Fprintln(os.Stderr, "fake:", err)
		return 98
	}
	for i, r := range rules {
		if r.Tool != tool || !containsAll(line, r.Match) {
			continue
		}
		// Each call is a process of its own: the count lives in a file.
		countFile := filepath.Join(dir, "count-"+strconv.Itoa(i))
		n := 0
		if c, err := os.ReadFile(countFile); err == nil {
			n, _ = strconv.Atoi(string(c))
		}
		os.WriteFile(countFile, []byte(strconv.Itoa(n+1)), 0o644)
		a := r.Answers[min(n, len(r.Answers)-1)]
		// The run's own channel id, which the script draws at random.
		a.Out = strings.ReplaceAll(a.Out, "{channel}", smokeID.FindString(line))
		if tool == "curl" {
			return curlAnswer(args, a)
		}
		fmt.Fprint(os.Stdout, a.Out)
		fmt.Fprint(os.Stderr, a.Err)
		return a.Exit
	}
	fmt.Fprintf(os.Stderr, "fake %s: no answer for %q\n", tool, line)
	return 97
}

// curlAnswer plays curl -sS -o FILE -w '%{http_code}' ... URL.
func curlAnswer(args []string, a answer) int {
	for i, arg := range args {
		if arg == "-o" && i+1 < len(args) {
			os.WriteFile(args[i+1], []byte(a.Out), 0o644)
		}
	}
	if a.Exit != 0 {
		fmt.Fprint(os.Stdout, "000")
		fmt.Fprint(os.Stderr, a.Err)
		return a.Exit
	}
	fmt.Fprint(os.Stdout, a.Code)
	return 0
}

// smokeID matches the temporary channel's id, in any call that names it
// (the subscription's name holds it too).
var smokeID = regexp.MustCompile(`smoke-[0-9a-f]{12}`)

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// runSmoke runs scripts/smoke.sh with the fakes first on PATH, and returns
// what it printed (stdout and stderr), its exit status and the fakes' calls.
func runSmoke(t *testing.T, env string, rules []rule, timeout string) (string, int, []string) {
	t.Helper()
	cmd, dir := smokeCmd(t, env, rules, timeout)
	output, err := cmd.CombinedOutput()
	exit := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(output), exit, callsIn(dir)
}

// smokeCmd prepares a run of scripts/smoke.sh with the fakes first on PATH,
// answering from rules, and returns it with the fakes' directory.
func smokeCmd(t *testing.T, env string, rules []rule, timeout string) (*exec.Cmd, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"gcloud", "curl", "terraform", "watchrelay"} {
		if err := os.Symlink(self, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scenario.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"smoke.sh"}
	if env != "" {
		file := filepath.Join(dir, "smoke.env")
		if err := os.WriteFile(file, []byte(env), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, file)
	}
	if timeout == "" {
		timeout = "0"
	}
	cmd := exec.Command("bash", args...)
	cmd.Env = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"SMOKE_FAKE_DIR="+dir, "SMOKE_TIMEOUT="+timeout, "SMOKE_POLL=0")
	return cmd, dir
}

// callsIn returns the calls the fakes logged in dir, in order.
func callsIn(dir string) []string {
	logged, _ := os.ReadFile(filepath.Join(dir, "calls"))
	if in, err := os.ReadFile(filepath.Join(dir, "stdin")); err == nil {
		// What the CLI read, as a call of its own.
		logged = append(logged, "stdin of watchrelay: "+string(in)...)
	}
	return strings.Split(strings.TrimSpace(string(logged)), "\n")
}

// find returns the first call that starts with prefix, or "".
func find(calls []string, prefix string) string {
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			return c
		}
	}
	return ""
}

// count returns how many calls hold s.
func count(calls []string, s string) int {
	n := 0
	for _, c := range calls {
		if strings.Contains(c, s) {
			n++
		}
	}
	return n
}
