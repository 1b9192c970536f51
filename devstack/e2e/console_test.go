package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/devstack/scenarios"
	"github.com/consentry/consentry/devstack/stack"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/schemas"
)

// To refresh the screenshots in docs/console/:
//
//	CONSENTRY_CONSOLE_SCREENSHOTS=$PWD/docs/console go test ./devstack/e2e -run TestConsoleInABrowser
const screenshotsEnv = "CONSENTRY_CONSOLE_SCREENSHOTS"

// browserPath finds Chromium, or says plainly why the browser test cannot run: it fails
// rather than skips where the browser could have been installed (scripts/ensure-chromium.sh).
func browserPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CONSENTRY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := exec.LookPath("apt-get"); err == nil && os.Geteuid() == 0 {
		t.Fatal("Chromium is not installed but could be: run scripts/ensure-chromium.sh (make test does)")
	}
	t.Skip("Chromium is not installed and cannot be installed here; install chromium or set CONSENTRY_CHROMIUM")
	return ""
}

// axeSource reads axe-core as scripts/ensure-axe-core.sh installs it.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CONSENTRY_AXE_CORE")
	if path == "" {
		out, err := exec.Command("go", "env", "GOWORK").Output()
		if err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), ".data", "tools", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if _, npm := exec.LookPath("npm"); npm == nil {
			t.Fatalf("axe-core is not at %s but npm could install it: run scripts/ensure-axe-core.sh (make test does)", path)
		}
		t.Skipf("axe-core is not at %s and npm is missing to install it", path)
	}
	return string(b)
}

// TestConsoleInABrowser signs in to the console through the development identity
// provider in headless Chromium and does a privacy desk's and an operator's work on the
// real stack: finds the at-risk request on the start page, approves a Customer's request,
// reveals a manual task's identifiers once and completes it, replays a dead letter. Each
// action is then looked for where it must be on the record, with the person's name. Every
// screen is checked at 320 px wide and with axe-core for serious accessibility problems.
func TestConsoleInABrowser(t *testing.T) {
	exe := browserPath(t)
	axe := axeSource(t)
	ports, err := stack.FreePorts()
	if err != nil {
		t.Fatal(err)
	}
	ctx0, cancel0 := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel0()
	s := startConsoleStack(ctx0, t, ports)

	// What the screens will show: a dead letter at HubSpot, an erasure with manual tasks,
	// a Customer's request waiting for approval, and a request close to its deadline.
	setFault(t, s, `{"vendor": "hubspot", "mode": "4xx"}`)
	postConsent(t, s, "u_console", "console-person@example.com")
	_, erasure := submitRequest(t, s, s.APIKey(), `{"tenant":"consumer","subject_id":"u_console_era","identifiers":{"email":"era-console@example.com"},"type":"erasure","reason":"user_request","verified":true}`)
	_, acme := submitRequest(t, s, s.APIKey(), `{"tenant":"acme","subject_id":"emp_console","identifiers":{"email":"emp@acme.example"},"type":"erasure","reason":"user_request","verified":true}`)
	atRisk := publishAtRiskRequest(t, s)

	type deadLetter struct {
		ID     int64  `json:"id"`
		Vendor string `json:"vendor"`
	}
	deadLetters := func() []deadLetter {
		var got struct {
			DeadLetters []deadLetter `json:"dead_letters"`
		}
		testkit.Call(t, "GET", s.URL("vendor-fanout")+"/v1/dead-letters?vendor=hubspot", s.OperatorKey(), nil, &got)
		return got.DeadLetters
	}
	eventually(t, "a HubSpot dead letter", 90*time.Second, func() bool { return len(deadLetters()) > 0 })
	setFault(t, s, `{"vendor": "hubspot", "mode": "ok"}`)
	var task int64
	eventually(t, "a manual task of the erasure", 90*time.Second, func() bool {
		for _, mt := range scenarios.OpenTasks(t, s, erasure) {
			task = mt.ID
			return true
		}
		return false
	})
	eventually(t, "the at-risk request in audit-sink", 60*time.Second, func() bool {
		var got struct {
			Requests []struct {
				RequestID string `json:"request_id"`
			} `json:"requests"`
		}
		testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests?status=at_risk", s.OperatorKey(), nil, &got)
		for _, r := range got.Requests {
			if r.RequestID == atRisk {
				return true
			}
		}
		return false
	})
	eventually(t, "the Customer's request waiting for approval", 60*time.Second, func() bool {
		return requestView(t, s, acme).Status == "forwarded_to_controller"
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.WindowSize(1280, 1000))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root (CI containers)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Location()); err != nil { // starts the browser, outside any step's timeout
		t.Fatal(err)
	}
	base := s.ConsoleURL()
	shots := os.Getenv(screenshotsEnv)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			// A screenshot asserts nothing, and on a loaded machine Chromium refuses one
			// ("0 width") while a page submitted a moment ago is still being laid out.
			if shots == "" {
				return nil
			}
			laidOut := `document.readyState === "complete" && document.documentElement.getBoundingClientRect().width > 0`
			if _, err := chromedp.Poll[chromedp.Void](laidOut)(ctx, tg); err != nil {
				return err
			}
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		})
	}
	// click waits for the page to have finished loading, then clicks. A page that a form
	// post rendered can still be replaced by its own load finishing; a node found in the
	// document being replaced is gone before the mouse event is sent ("Could not find
	// node with given id"), so the query is made again on the new document. Nothing was
	// clicked when that error comes back, so asking again cannot click twice.
	click := func(sel chromedp.CSS) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for {
				if _, err := chromedp.Poll[chromedp.Void](`document.readyState === "complete"`)(ctx, tg); err != nil {
					return err
				}
				_, err := chromedp.Click(sel)(ctx, tg)
				var cdpErr *cdproto.Error
				if !errors.As(err, &cdpErr) || !strings.Contains(cdpErr.Message, "node with given id") {
					return err
				}
				if ctx.Err() != nil {
					return err
				}
			}
		})
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for i, a := range actions {
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := chromedp.Do(sctx, a)
			cancel()
			if err != nil {
				at, _ := chromedp.Run(ctx, chromedp.Location())
				html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
				t.Fatalf("%s, step %d, at %s: %v\n%s", what, i+1, at, err, html)
			}
		}
	}
	mainHTML := func() string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		html, err := chromedp.Run(sctx, chromedp.OuterHTML(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("reading the page: %v", err)
		}
		return html
	}
	signIn := func(who string) {
		run("signing in as "+who,
			chromedp.Navigate(base+"/"),
			click(chromedp.CSS(`a.button`)),
			chromedp.WaitVisible(chromedp.CSS(`#signin`)),
			click(chromedp.CSS(`#u-`+who)),
			click(chromedp.CSS(`#signin`)),
			chromedp.WaitVisible(chromedp.CSS(`form.who`)),
		)
	}
	// The button of the form that posts to action, and the menu's link to path.
	button := func(action string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`form[action=%q] button`, action)) }
	nav := func(path string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`nav a[href=%q]`, path)) }

	// The privacy desk: the start page shows the at-risk request.
	run("the sign-in page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`a.button`)), shot("signin"))
	signIn("dana")
	run("the start page", shot("start"))
	if home := mainHTML(); !strings.Contains(home, `href="/requests/`+atRisk+`"`) {
		t.Errorf("the start page does not show the at-risk request %s:\n%s", atRisk, home)
	}

	// Approve the Customer's request: two clicks from the start page.
	run("approving the Customer's request",
		click(nav("/requests")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/requests/`+acme+`"]`)), shot("requests"),
		click(chromedp.CSS(`a[href="/requests/`+acme+`"]`)),
		chromedp.WaitVisible(button("/requests/"+acme+"/approve")), shot("request"),
		click(button("/requests/"+acme+"/approve")),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	eventually(t, "the approval on the request's record, naming dana", 60*time.Second, func() bool {
		for _, tr := range requestView(t, s, acme).Transitions {
			if tr.Status == "in_progress" && strings.Contains(tr.Detail, "by dana via acme-console") {
				return true
			}
		}
		return false
	})

	// A manual task: reveal the identifiers once, then complete it.
	run("revealing a task's identifiers",
		click(nav("/tasks")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/tasks/`+fmt.Sprint(task)+`"]`)), shot("tasks"),
		click(chromedp.CSS(`a[href="/tasks/`+fmt.Sprint(task)+`"]`)),
		chromedp.WaitVisible(button(fmt.Sprintf("/tasks/%d/reveal", task))), shot("task"),
		click(button(fmt.Sprintf("/tasks/%d/reveal", task))),
		chromedp.WaitVisible(chromedp.CSS(`dl.ids`)),
	)
	if html := mainHTML(); !strings.Contains(html, "era-console@example.com") {
		t.Errorf("the revealed identifiers do not show the address")
	}
	run("completing the task",
		chromedp.SendKeys(chromedp.CSS(`#note`), "Deleted the contact in the vendor's admin screen."),
		click(button(fmt.Sprintf("/tasks/%d/complete", task))),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	var disclosures struct {
		Disclosures []struct {
			DisclosedTo string `json:"disclosed_to"`
		} `json:"disclosures"`
	}
	testkit.Call(t, "GET", fmt.Sprintf("%s/v1/manual-tasks/%d/disclosures", s.URL("vendor-fanout"), task), s.OperatorKey(), nil, &disclosures)
	if len(disclosures.Disclosures) != 1 || disclosures.Disclosures[0].DisclosedTo != "dana via console" {
		t.Errorf("disclosures of task %d: %+v, want one to dana via console", task, disclosures.Disclosures)
	}
	eventually(t, "the disclosure in the audit log, naming dana", 60*time.Second, func() bool {
		for _, v := range requestView(t, s, erasure).Vendors {
			for _, r := range v.Receipts {
				if r.Outcome == "identifiers_disclosed" && strings.Contains(r.Detail, "dana via console") {
					return true
				}
			}
		}
		return false
	})
	var done struct {
		CompletedBy string `json:"completed_by"`
	}
	testkit.Call(t, "GET", fmt.Sprintf("%s/v1/manual-tasks/%d", s.URL("vendor-fanout"), task), s.OperatorKey(), nil, &done)
	if done.CompletedBy != "dana via console" {
		t.Errorf("the task was completed by %q", done.CompletedBy)
	}
	run("looking a person up",
		click(nav("/subject")),
		chromedp.WaitVisible(chromedp.CSS(`#subject_id`)),
		chromedp.SendKeys(chromedp.CSS(`#tenant`), "consumer"),
		chromedp.SendKeys(chromedp.CSS(`#subject_id`), "u_console"),
		click(button("/subject")),
		chromedp.WaitVisible(chromedp.CSS(`#found`)), shot("subject"),
	)
	if html := mainHTML(); !strings.Contains(html, "marketing_email: denied") {
		t.Errorf("the person's consent proof is not shown:\n%s", html)
	}
	current, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(current, "u_console") {
		t.Errorf("the subject id is in the URL %s", current)
	}

	// The operator: replay the dead letter.
	dl := deadLetters()[0]
	run("signing out", click(button("/auth/logout")), chromedp.WaitVisible(chromedp.CSS(`a.button`)))
	signIn("omar")
	run("replaying a dead letter",
		click(nav("/dead-letters")),
		chromedp.WaitVisible(button(fmt.Sprintf("/dead-letters/%d/replay", dl.ID))), shot("dead-letters"),
		click(button(fmt.Sprintf("/dead-letters/%d/replay", dl.ID))),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	eventually(t, "the replayed delivery leaving the dead letters", 60*time.Second, func() bool {
		for _, d := range deadLetters() {
			if d.ID == dl.ID {
				return false
			}
		}
		return true
	})
	run("the lanes and the audit log",
		click(nav("/lanes")), chromedp.WaitVisible(chromedp.CSS(`ul.cards`)), shot("lanes"),
		click(nav("/audit")), chromedp.WaitVisible(button("/audit/verify")),
		click(button("/audit/verify")), chromedp.WaitVisible(chromedp.CSS(`p.ok`)), shot("audit"),
	)

	// A viewer has no buttons, and a post it makes anyway is refused (the console's own
	// tests perform that attack form by form; here the screen).
	run("signing out", click(button("/auth/logout")), chromedp.WaitVisible(chromedp.CSS(`a.button`)))
	signIn("vera")
	run("a viewer's dead letters", chromedp.Navigate(base+"/dead-letters"), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	if html := mainHTML(); strings.Contains(html, "<button") {
		t.Error("a viewer is shown a button on the dead letters screen")
	}

	// Every screen at 320 px, and axe-core on each at both widths.
	run("signing out", click(button("/auth/logout")), chromedp.WaitVisible(chromedp.CSS(`a.button`)))
	signIn("dana")
	screens := []string{"/", "/requests", "/requests/" + acme, "/tasks", fmt.Sprintf("/tasks/%d", task), "/dead-letters", "/lanes", "/subject", "/audit"}
	audit := func(width int64) {
		for _, path := range screens {
			run("opening "+path, chromedp.EmulateViewport(width, 800), chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
			scrollWidth, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axe+"\n;true")); err != nil {
				t.Fatalf("loading axe-core: %v", err)
			}
			serious, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
				.then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
				.map(v => v.id + ' (' + v.nodes.length + '): ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', ')))`,
				chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("running axe-core on %s: %v", path, err)
			}
			if scrollWidth > width {
				t.Errorf("%s at %d px is %d px wide: it scrolls sideways", path, width, scrollWidth)
			}
			for _, v := range serious {
				t.Errorf("axe-core, %s at %d px: %s", path, width, v)
			}
		}
	}
	// axe-core is injected by the test through the DevTools protocol; the console's CSP,
	// which allows no script at all, would refuse it as it refuses any other.
	if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	audit(1280)
	audit(320)
	run("the start page at 320 px", chromedp.EmulateViewport(320, 800), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`main h1`)), shot("start-320px"))
}

func startConsoleStack(ctx context.Context, t *testing.T, ports stack.Ports) *stack.Stack {
	t.Helper()
	return scenarios.Start(ctx, t, stack.Config{DataDir: dataDirFor(t), BinDir: binDir, Ports: ports, Console: true})
}

// publishAtRiskRequest writes a request received ten days ago and due tomorrow, as
// consent-ingest would have, so that the console has one close to its deadline.
func publishAtRiskRequest(t *testing.T, s *stack.Stack) string {
	t.Helper()
	id, err := eventid.New()
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := eventid.New()
	now := time.Now().UTC()
	due := now.Add(24 * time.Hour)
	received := now.Add(-10 * 24 * time.Hour)
	e := &schemas.PrivacyRequest{Header: schemas.Header{EventID: ev, Tenant: "consumer", SubjectKey: "console-at-risk-subject",
		OccurredAt: received, RecordedAt: received, Source: "api", PolicyVersion: "2025-04-09"},
		RequestID: id, Type: "access", Reason: "user_request", Status: "received", DeadlineAt: &due, Jurisdiction: "gdpr"}
	testkit.Publish(t, &testkit.Stack{RegistryURL: s.RegistryURL(), Kafka: &testkit.KafkaEnv{Brokers: s.Brokers(), Topics: s.Topics()}},
		s.Topics().Requests, e.SubjectKey, e)
	return id
}

type consoleRequestView struct {
	Status      string `json:"status"`
	Transitions []struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"transitions"`
	Vendors []struct {
		Receipts []struct {
			Outcome string `json:"outcome"`
			Detail  string `json:"detail"`
		} `json:"receipts"`
	} `json:"vendors"`
}

func requestView(t *testing.T, s *stack.Stack, id string) consoleRequestView {
	t.Helper()
	var v consoleRequestView
	if code := testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests/"+id, s.OperatorKey(), nil, &v); code != http.StatusOK && code != http.StatusNotFound {
		t.Fatalf("GET the request view: %d", code)
	}
	return v
}
