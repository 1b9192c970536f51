package main

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/schemas"
)

// To refresh the README's picture:
//
//	go test ./services/unsubscribe-handler -run TestBrowser -args -screenshot=$PWD/docs/preference-center.png
var screenshot = flag.String("screenshot", "", "write a PNG of the preference page to this path (relative paths are from the package directory)")

// chromium finds the browser, or says plainly why the browser test cannot run. It fails
// rather than skips when the browser could have been installed: a green run must not
// hide a browser test that never ran.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CONSENTRY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	_, aptErr := exec.LookPath("apt-get")
	if os.Geteuid() == 0 && aptErr == nil {
		t.Fatal("Chromium is not installed but could be: run scripts/ensure-chromium.sh (make test does)")
	}
	t.Skip("Chromium is not installed and cannot be installed here (needs root and apt-get); " +
		"install your distribution's chromium package or set CONSENTRY_CHROMIUM to run the browser test")
	return ""
}

// TestBrowserUnsubscribeThenPreferences walks the pages a person sees in headless
// Chromium: the unsubscribe page, its button, the link to the preference center, one
// changed choice and one unticked topic, save — and then looks for the events on Kafka.
func TestBrowserUnsubscribeThenPreferences(t *testing.T) {
	exe := chromium(t)
	stack, svc, box := startWithMailbox(t, nil)
	u := issueLink(t, svc, `{"tenant":"consumer","subject_id":"u_browser","email":"browser@example.com"}`)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.WindowSize(900, 1500))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root (CI containers)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel chromedp.CSS) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return v
	}

	step("opening the unsubscribe link", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(`button[type=submit]`)))
	// Both pages link to the preference center; only the answer has no form.
	step("clicking the button", chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitNotPresent(chromedp.CSS(`form`)))
	if h := text(`h1`); h != "You are unsubscribed" {
		t.Errorf("after the click the page says %q", h)
	}
	step("following the link to the preference center", chromedp.Click(chromedp.CSS(`a[href^="../preferences/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#purpose-analytics-granted`)))
	lang, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`html`), "lang"))
	if err != nil || lang.Value != "en" {
		t.Errorf("html lang %+v, %v", lang, err)
	}
	if *screenshot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The one-click shows on the page: marketing email is no longer allowed.
	marketingDenied, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("purpose-marketing_email-denied").checked`))
	if err != nil || !marketingDenied {
		t.Errorf("marketing email shown as denied: %v (%v)", marketingDenied, err)
	}
	step("changing a choice and a topic, and saving",
		chromedp.Click(chromedp.CSS(`label[for="purpose-analytics-granted"]`)),
		chromedp.Click(chromedp.CSS(`#topic-newsletter`)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form`)))
	if h := text(`h1`); h != "Your choices are saved" {
		t.Errorf("after saving the page says %q", h)
	}
	// Allowing analytics is a grant: it waits for the link mailed to the address.
	if p := text(`p`); !strings.Contains(p, "we have sent you an email") {
		t.Errorf("after saving the page says %q", p)
	}
	step("following the confirmation link", chromedp.Navigate(localURL(svc, box.wait(t, 1)["confirm_url"].(string))),
		chromedp.WaitVisible(chromedp.CSS(`button[type=submit]`)))
	step("confirming", chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitNotPresent(chromedp.CSS(`form`)))
	if h := text(`h1`); h != "Your choices are confirmed" {
		t.Errorf("after confirming the page says %q", h)
	}

	consents := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 2, 60*time.Second)
	var fromPage *schemas.ConsentChanged
	for _, d := range consents {
		if c := d.Event.(*schemas.ConsentChanged); c.Source == "preference_center" {
			fromPage = c
		}
	}
	if fromPage == nil || len(fromPage.Purposes) != 1 || fromPage.Purposes["analytics"] != "granted" ||
		fromPage.SubjectKey != stack.Pepper.SubjectKey("consumer", "u_browser") {
		t.Errorf("preference center event %+v", fromPage)
	}
	hash := pseudonym.EmailSHA256("browser@example.com")
	var got []string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got = got[:0]
		for _, r := range testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions) {
			s := r.Event.(*schemas.SuppressionChanged)
			got = append(got, string(r.Msg.Key)+" "+s.Scope+" "+s.Topic+" "+s.Reason+" "+s.Source)
		}
		if len(got) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	want := []string{hash + " all  opt_out email_link", hash + ":newsletter topic newsletter opt_out preference_center"}
	if strings.Join(sorted(got), "|") != strings.Join(want, "|") {
		t.Errorf("suppression records\n%v\nwant\n%v", got, want)
	}
	var state struct {
		Suppressed bool `json:"suppressed"`
	}
	if st := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+hash, testkit.APIKey, nil, &state); st != 200 || !state.Suppressed {
		t.Errorf("suppression lookup: %d %+v", st, state)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
