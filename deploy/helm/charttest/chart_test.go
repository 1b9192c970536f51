package charttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/consentry/consentry/platform/kafka"
)

const chartDir = "../consentry"

var services = []string{"consent-ingest", "unsubscribe-handler", "vendor-fanout", "audit-sink"}

// The CRDs whose Go types this module does not import: only the fields the chart sets,
// decoded as strictly as the built-in kinds.
type (
	serviceMonitor struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			Selector          metav1.LabelSelector `json:"selector"`
			NamespaceSelector struct {
				MatchNames []string `json:"matchNames,omitempty"`
				Any        bool     `json:"any,omitempty"`
			} `json:"namespaceSelector"`
			Endpoints []struct {
				Port          string `json:"port"`
				Path          string `json:"path"`
				Interval      string `json:"interval"`
				ScrapeTimeout string `json:"scrapeTimeout"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	kafkaTopic struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			TopicName  string `json:"topicName"`
			Partitions int32  `json:"partitions"`
			Replicas   int32  `json:"replicas"`
			// Strings only: Strimzi passes them to Kafka as they are.
			Config map[string]string `json:"config"`
		} `json:"spec"`
	}
	scaledObject struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			ScaleTargetRef struct {
				Name string `json:"name"`
			} `json:"scaleTargetRef"`
			PollingInterval int32 `json:"pollingInterval"`
			CooldownPeriod  int32 `json:"cooldownPeriod"`
			MinReplicaCount int32 `json:"minReplicaCount"`
			MaxReplicaCount int32 `json:"maxReplicaCount"`
			Triggers        []struct {
				Type       string `json:"type"`
				MetricType string `json:"metricType,omitempty"`
				// KEDA reads trigger metadata as strings; a bare number is an error there.
				Metadata map[string]string `json:"metadata"`
			} `json:"triggers"`
		} `json:"spec"`
	}
)

// kinds maps each kind the chart may render to its apiVersion and a new value to decode
// into. A kind missing here fails the test: nothing is rendered unchecked.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"Deployment":              {"apps/v1", func() any { return new(appsv1.Deployment) }},
	"Service":                 {"v1", func() any { return new(corev1.Service) }},
	"ConfigMap":               {"v1", func() any { return new(corev1.ConfigMap) }},
	"PodDisruptionBudget":     {"policy/v1", func() any { return new(policyv1.PodDisruptionBudget) }},
	"HorizontalPodAutoscaler": {"autoscaling/v2", func() any { return new(autoscalingv2.HorizontalPodAutoscaler) }},
	"NetworkPolicy":           {"networking.k8s.io/v1", func() any { return new(networkingv1.NetworkPolicy) }},
	"Ingress":                 {"networking.k8s.io/v1", func() any { return new(networkingv1.Ingress) }},
	"Job":                     {"batch/v1", func() any { return new(batchv1.Job) }},
	"ServiceMonitor":          {"monitoring.coreos.com/v1", func() any { return new(serviceMonitor) }},
	"KafkaTopic":              {"kafka.strimzi.io/v1beta2", func() any { return new(kafkaTopic) }},
	"ScaledObject":            {"keda.sh/v1alpha1", func() any { return new(scaledObject) }},
}

// rendered is a chart's objects by kind, then name.
type rendered map[string]map[string]any

func (r rendered) names(kind string) []string {
	var ns []string
	for n := range r[kind] {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	return c
}

// render renders c as `helm install consentry -n consentry -f <files…>` would, and
// decodes every object.
func render(t *testing.T, c *chart.Chart, valueFiles ...string) (rendered, error) {
	t.Helper()
	vals := map[string]any{}
	for _, f := range valueFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := chartutil.ReadValues(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		vals = chartutil.CoalesceTables(v, vals)
	}
	rv, err := chartutil.ToRenderValues(c, vals,
		chartutil.ReleaseOptions{Name: "consentry", Namespace: "consentry", Revision: 1, IsInstall: true},
		chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(c, rv)
	if err != nil {
		return nil, err
	}
	return decodeAll(files)
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func decodeAll(files map[string]string) (rendered, error) {
	out := rendered{}
	var errs []string
	for name, text := range files {
		if path.Ext(name) != ".yaml" || strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		for i, doc := range docSep.Split(text, -1) {
			if strings.TrimSpace(doc) == "" || onlyComments(doc) {
				continue
			}
			obj, kind, objName, err := decode([]byte(doc))
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s (document %d): %v", name, i, err))
				continue
			}
			if out[kind] == nil {
				out[kind] = map[string]any{}
			}
			if _, dup := out[kind][objName]; dup {
				errs = append(errs, fmt.Sprintf("%s: two objects %s/%s", name, kind, objName))
			}
			out[kind][objName] = obj
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

func onlyComments(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// decode converts one YAML document to JSON (a duplicated key is an error) and decodes it
// into its kind's type, refusing any field the type does not have.
func decode(doc []byte) (obj any, kind, name string, err error) {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, "", "", fmt.Errorf("yaml: %w", err)
	}
	var tm struct {
		metav1.TypeMeta
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil, "", "", err
	}
	k, ok := kinds[tm.Kind]
	if !ok {
		return nil, "", "", fmt.Errorf("kind %q is not checked by this test: add it to kinds", tm.Kind)
	}
	if tm.APIVersion != k.apiVersion {
		return nil, "", "", fmt.Errorf("%s %s: apiVersion %q, want %q", tm.Kind, tm.Metadata.Name, tm.APIVersion, k.apiVersion)
	}
	if tm.Metadata.Name == "" {
		return nil, "", "", fmt.Errorf("%s without a name", tm.Kind)
	}
	// Kubernetes' own strict decoder, not encoding/json's Decoder.DisallowUnknownFields:
	// that one matches field names case-insensitively, so "sizelimit" would pass for
	// sizeLimit, while the API server drops it (with a warning at most).
	obj = k.new()
	strict, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err == nil {
		err = errors.Join(strict...)
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("%s %s: %w", tm.Kind, tm.Metadata.Name, err)
	}
	return obj, tm.Kind, tm.Metadata.Name, nil
}

func mustRender(t *testing.T, valueFiles ...string) rendered {
	t.Helper()
	r, err := render(t, loadChart(t), valueFiles...)
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	return r
}

func TestDefaults(t *testing.T) {
	r := mustRender(t)
	checkServices(t, r)
	for _, kind := range []string{"ServiceMonitor", "KafkaTopic", "ScaledObject"} {
		if len(r[kind]) > 0 {
			t.Errorf("defaults render %s %v; it is behind a switch", kind, r.names(kind))
		}
	}
	for _, s := range services {
		if _, ok := r["HorizontalPodAutoscaler"]["consentry-"+s]; !ok {
			t.Errorf("no HorizontalPodAutoscaler for %s", s)
		}
	}
	checkHubSpot(t, r, false)
}

// checkHubSpot: with its Secret named, unsubscribe-handler reads HubSpot's webhook secrets
// and tokens from it and may reach HTTPS outside the cluster (the contact reads);
// without, it has neither. No other service gets them.
func checkHubSpot(t *testing.T, r rendered, on bool) {
	t.Helper()
	for _, s := range services {
		refs := map[string]string{}
		for _, e := range r["Deployment"]["consentry-"+s].(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Env {
			if strings.HasPrefix(e.Name, "CONSENTRY_HUBSPOT_") && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				refs[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			}
		}
		want := map[string]string{}
		if on && s == "unsubscribe-handler" {
			want = map[string]string{"CONSENTRY_HUBSPOT_WEBHOOK_SECRETS": "consentry-hubspot/webhook-secrets",
				"CONSENTRY_HUBSPOT_TOKENS": "consentry-hubspot/tokens"}
		}
		if fmt.Sprint(refs) != fmt.Sprint(want) {
			t.Errorf("%s: HubSpot env %v, want %v", s, refs, want)
		}
	}
	np, ok := r["NetworkPolicy"]["consentry-unsubscribe-handler"].(*networkingv1.NetworkPolicy)
	if !ok {
		return
	}
	https := false
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			if p.Port != nil && p.Port.IntValue() == 443 {
				https = true
			}
		}
	}
	if https != on {
		t.Errorf("unsubscribe-handler's HTTPS egress: %v, want %v", https, on)
	}
}

func TestEverythingOn(t *testing.T) {
	r := mustRender(t, "testdata/everything.yaml")
	checkServices(t, r)
	if len(r["ServiceMonitor"]) != 1 {
		t.Errorf("ServiceMonitors: %v, want one", r.names("ServiceMonitor"))
	}
	for _, sm := range r["ServiceMonitor"] {
		for _, e := range sm.(*serviceMonitor).Spec.Endpoints {
			if e.Port != "admin" || e.Path != "/metrics" {
				t.Errorf("ServiceMonitor scrapes %s on port %s, want /metrics on admin", e.Path, e.Port)
			}
		}
	}
	checkAdminOnlyFromMonitoring(t, r)
	for _, s := range []string{"vendor-fanout", "audit-sink"} {
		so, ok := r["ScaledObject"]["consentry-"+s].(*scaledObject)
		if !ok {
			t.Errorf("no ScaledObject for %s", s)
			continue
		}
		if _, hpa := r["HorizontalPodAutoscaler"]["consentry-"+s]; hpa {
			t.Errorf("%s has both a ScaledObject and an HPA: KEDA makes its own", s)
		}
		if so.Spec.ScaleTargetRef.Name != "consentry-"+s || so.Spec.Triggers[0].Metadata["consumerGroup"] != s {
			t.Errorf("ScaledObject of %s targets %q on group %q", s, so.Spec.ScaleTargetRef.Name, so.Spec.Triggers[0].Metadata["consumerGroup"])
		}
	}
	checkTopics(t, r)
	checkHubSpot(t, r, true)
	// The services that send webhooks sign them with the same keys; no other holds them.
	for _, s := range services {
		var ref *corev1.SecretKeySelector
		for _, e := range r["Deployment"]["consentry-"+s].(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Env {
			if e.Name == "CONSENTRY_WEBHOOK_SIGNING_KEYS" && e.ValueFrom != nil {
				ref = e.ValueFrom.SecretKeyRef
			}
		}
		sends := s == "consent-ingest" || s == "vendor-fanout" || s == "unsubscribe-handler"
		if got := ref != nil && ref.Name == "consentry-webhooks" && ref.Key == "webhook-signing-keys"; got != sends {
			t.Errorf("%s: CONSENTRY_WEBHOOK_SIGNING_KEYS from %+v", s, ref)
		}
	}
	cm := r["ConfigMap"]["consentry-audit-sink"].(*corev1.ConfigMap)
	if cm.Data["OTEL_EXPORTER_OTLP_ENDPOINT"] == "" || cm.Data["CONSENTRY_SCHEMA_REGISTRY_URL"] != "https://schema-registry.kafka:8081" {
		t.Errorf("the global env and the registry URL do not reach audit-sink's ConfigMap: %v", cm.Data)
	}
	if got := r["ConfigMap"]["consentry-consent-ingest"].(*corev1.ConfigMap).Data["CONSENTRY_INGEST_TOPICS"]; got != "consent.ingest.v1=consumer,customer.acme.ingest.v1=acme" {
		t.Errorf("consent-ingest's CONSENTRY_INGEST_TOPICS = %q, want services.consent-ingest.ingestTopics", got)
	}
	if _, set := r["ConfigMap"]["consentry-audit-sink"].(*corev1.ConfigMap).Data["CONSENTRY_INGEST_TOPICS"]; set {
		t.Error("audit-sink is given CONSENTRY_INGEST_TOPICS")
	}
}

// checkAdminOnlyFromMonitoring: the admin port (/readyz, /metrics) is open to the
// monitoring namespace only, and the API port's peers do not get it.
func checkAdminOnlyFromMonitoring(t *testing.T, r rendered) {
	t.Helper()
	for _, s := range services {
		np, ok := r["NetworkPolicy"]["consentry-"+s].(*networkingv1.NetworkPolicy)
		if !ok {
			t.Errorf("no NetworkPolicy for %s", s)
			continue
		}
		var adminRules int
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port == nil || p.Port.String() != "admin" {
					continue
				}
				adminRules++
				if len(rule.Ports) != 1 {
					t.Errorf("%s: the admin port shares a rule with %v", s, rule.Ports)
				}
				for _, peer := range rule.From {
					if peer.PodSelector != nil || peer.NamespaceSelector == nil ||
						peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
						t.Errorf("%s: the admin port is open to %+v, want the monitoring namespace only", s, peer)
					}
				}
			}
		}
		if adminRules != 1 {
			t.Errorf("%s: %d ingress rules name the admin port, want 1", s, adminRules)
		}
	}
}

// checkServices holds for any values: each service is complete, safe, and gets its secrets
// by reference only.
func checkServices(t *testing.T, r rendered) {
	t.Helper()
	for _, s := range services {
		name := "consentry-" + s
		d, ok := r["Deployment"][name].(*appsv1.Deployment)
		if !ok {
			t.Errorf("no Deployment %s", name)
			continue
		}
		for _, kind := range []string{"Service", "PodDisruptionBudget", "ConfigMap"} {
			if _, ok := r[kind][name]; !ok {
				t.Errorf("no %s %s", kind, name)
			}
		}
		if len(r["NetworkPolicy"]) > 0 {
			if _, ok := r["NetworkPolicy"][name]; !ok {
				t.Errorf("no NetworkPolicy %s", name)
			}
		}
		cm := r["ConfigMap"][name].(*corev1.ConfigMap)
		checkDeployment(t, s, d, cm)
		svc := r["Service"][name].(*corev1.Service)
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("Service %s selects %s=%s, which its pods lack", name, k, v)
			}
		}
	}
	job, ok := r["Job"]["consentry-migrate"].(*batchv1.Job)
	if !ok {
		t.Fatalf("no migration Job; Jobs: %v", r.names("Job"))
	}
	if got := job.Annotations["helm.sh/hook"]; got != "pre-install,pre-upgrade" {
		t.Errorf("migration Job's hook is %q", got)
	}
	pod := job.Spec.Template.Spec
	all := append(append([]corev1.Container(nil), pod.InitContainers...), pod.Containers...)
	var migrated []string
	for _, c := range all {
		if !slices.Equal(c.Args, []string{"--migrate-only"}) {
			t.Errorf("migration container %s runs %q", c.Name, c.Args)
		}
		checkContainerSecurity(t, "Job "+c.Name, c)
		checkEnvByReference(t, "Job "+c.Name, c.Env)
		migrated = append(migrated, c.Name)
	}
	sort.Strings(migrated)
	want := slices.Sorted(slices.Values(services))
	if !slices.Equal(migrated, want) {
		t.Errorf("the migration Job migrates %v, want %v", migrated, want)
	}
	checkPodSecurity(t, "Job", pod)
}

// The names whose values are secrets (deploy/README.md, "Secrets"), and the prefix of the
// vendor credentials: these must reach a pod as secretKeyRef, never as a value.
var secretEnv = regexp.MustCompile(`^(CONSENTRY_(POSTGRES_URL|API_KEYS|SUBJECT_PEPPER|MASTER_KEYS|LINK_KEYS|WEBHOOK_SIGNING_KEYS|SCHEMA_REGISTRY_(TOKEN|USER|PASSWORD)|KAFKA_SASL_(USERNAME|PASSWORD)|VENDOR_\w+_(TOKEN|API_KEY|SECRET_KEY|ACCESS_TOKEN|SECRET))|OTEL_EXPORTER_OTLP_HEADERS)$`)

func checkDeployment(t *testing.T, svc string, d *appsv1.Deployment, cm *corev1.ConfigMap) {
	t.Helper()
	pod := d.Spec.Template.Spec
	checkPodSecurity(t, d.Name, pod)
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 45 {
		t.Errorf("%s: terminationGracePeriodSeconds %v, want ≥ 45 (deploy/README.md, Lifecycle)", d.Name, g)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s mounts a service account token it never uses", d.Name)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers", d.Name, len(pod.Containers))
	}
	c := pod.Containers[0]
	checkContainerSecurity(t, d.Name, c)
	checkEnvByReference(t, d.Name, c.Env)

	if len(c.Ports) != 2 || c.Ports[0].Name != "http" || c.Ports[1].Name != "admin" {
		t.Fatalf("%s: ports %+v, want http and admin", d.Name, c.Ports)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}, {"startup", c.StartupProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: no %s probe", d.Name, p.name)
			continue
		}
		// /readyz and /metrics are not on the API port, which an ingress may route.
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "admin" {
			t.Errorf("%s: %s probe on %s:%s, want %s:admin", d.Name, p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}

	req, lim := c.Resources.Requests, c.Resources.Limits
	if req.Cpu().IsZero() || req.Memory().IsZero() || lim.Memory().IsZero() {
		t.Errorf("%s: resources %+v, want cpu and memory requests and a memory limit", d.Name, c.Resources)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	// GOMEMLIMIT about three quarters of the limit (deploy/README.md, "Memory").
	if gml, err := resource.ParseQuantity(strings.TrimSuffix(env["GOMEMLIMIT"].Value, "B")); err != nil {
		t.Errorf("%s: GOMEMLIMIT %q: %v", d.Name, env["GOMEMLIMIT"].Value, err)
	} else if ratio := float64(gml.Value()) / float64(lim.Memory().Value()); ratio < 0.6 || ratio > 0.9 {
		t.Errorf("%s: GOMEMLIMIT %s is %.0f%% of the memory limit %s, want about 75%%", d.Name, env["GOMEMLIMIT"].Value, 100*ratio, lim.Memory())
	}
	for _, want := range requiredSecrets(svc) {
		if e, ok := env[want]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: %s is not set from a Secret", d.Name, want)
		}
	}

	// Settings come from the service's ConfigMap, and none of them is a secret.
	var fromCM bool
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			fromCM = fromCM || ef.ConfigMapRef.Name == cm.Name
		case ef.SecretRef != nil:
			if svc != "vendor-fanout" {
				t.Errorf("%s: takes every key of Secret %s as variables; only vendor credentials come so", d.Name, ef.SecretRef.Name)
			}
		}
	}
	if !fromCM {
		t.Errorf("%s does not read ConfigMap %s", d.Name, cm.Name)
	}
	for k := range cm.Data {
		if secretEnv.MatchString(k) {
			t.Errorf("ConfigMap %s holds the secret %s", cm.Name, k)
		}
	}
	if got, want := cm.Data["CONSENTRY_HTTP_ADDR"], ":"+strconv.Itoa(int(c.Ports[0].ContainerPort)); got != want {
		t.Errorf("%s listens on %q but its port is %s", d.Name, got, want)
	}
	if got, want := cm.Data["CONSENTRY_ADMIN_ADDR"], ":"+strconv.Itoa(int(c.Ports[1].ContainerPort)); got != want || c.Ports[0].ContainerPort == c.Ports[1].ContainerPort {
		t.Errorf("%s's admin listener is on %q but its admin port is %s", d.Name, got, want)
	}
	if delay, err := time.ParseDuration(cm.Data["CONSENTRY_SHUTDOWN_DELAY"]); err != nil || delay < 2*time.Second || delay > 15*time.Second {
		t.Errorf("%s: CONSENTRY_SHUTDOWN_DELAY %q, want about 5s", d.Name, cm.Data["CONSENTRY_SHUTDOWN_DELAY"])
	} else if g := pod.TerminationGracePeriodSeconds; g != nil && time.Duration(*g)*time.Second < delay+30*time.Second {
		t.Errorf("%s: a grace period of %ds leaves no 30 s for the batch in hand after a %s delay", d.Name, *g, delay)
	}
}

func requiredSecrets(svc string) []string {
	s := []string{"CONSENTRY_POSTGRES_URL", "CONSENTRY_API_KEYS", "CONSENTRY_SUBJECT_PEPPER", "CONSENTRY_MASTER_KEYS"}
	if svc == "unsubscribe-handler" {
		s = append(s, "CONSENTRY_LINK_KEYS")
	}
	return s
}

func checkEnvByReference(t *testing.T, who string, env []corev1.EnvVar) {
	t.Helper()
	for _, e := range env {
		if !secretEnv.MatchString(e.Name) {
			continue
		}
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: %s must come from a secretKeyRef, not a value", who, e.Name)
		}
	}
}

func checkPodSecurity(t *testing.T, who string, pod corev1.PodSpec) {
	t.Helper()
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: pod securityContext %+v, want runAsNonRoot and a non-zero runAsUser", who, sc)
		return
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod seccompProfile %+v, want RuntimeDefault", who, sc.SeccompProfile)
	}
}

func checkContainerSecurity(t *testing.T, who string, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Errorf("%s: container %s has no securityContext", who, c.Name)
		return
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: root filesystem is writable", who)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allows privilege escalation", who)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities %+v, want drop ALL and add none", who, sc.Capabilities)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: container seccompProfile %+v, want RuntimeDefault", who, sc.SeccompProfile)
	}
}

// checkTopics: every topic platform/kafka creates (dead-letter topics included) has a
// KafkaTopic with at least the configs it gives that topic, such as compaction of the
// suppression topic.
func checkTopics(t *testing.T, r rendered) {
	t.Helper()
	byName := map[string]*kafkaTopic{}
	for _, o := range r["KafkaTopic"] {
		kt := o.(*kafkaTopic)
		byName[kt.Spec.TopicName] = kt
		if kt.Labels["strimzi.io/cluster"] == "" {
			t.Errorf("KafkaTopic %s has no strimzi.io/cluster label: no Topic Operator takes it", kt.Name)
		}
		if kt.Spec.Partitions < 1 || kt.Spec.Replicas < 1 {
			t.Errorf("KafkaTopic %s: %d partitions, %d replicas", kt.Name, kt.Spec.Partitions, kt.Spec.Replicas)
		}
		if _, ok := kt.Spec.Config["retention.ms"]; !ok && kt.Spec.Config["cleanup.policy"] != "compact" {
			t.Errorf("KafkaTopic %s sets no retention", kt.Name)
		}
	}
	specs := kafka.DefaultTopics().Specs(1, 1)
	for _, s := range specs {
		kt, ok := byName[s.Name]
		if !ok {
			t.Errorf("topic %s (platform/kafka) has no KafkaTopic", s.Name)
			continue
		}
		for k, v := range s.Configs {
			if got := kt.Spec.Config[k]; got != v {
				t.Errorf("KafkaTopic %s: %s = %q, platform/kafka creates it with %q", s.Name, k, got, v)
			}
		}
	}
	if len(byName) != len(specs) {
		t.Errorf("%d KafkaTopics for %d topics", len(byName), len(specs))
	}
	if got := byName["vendor.receipts.v1"].Spec.Config["retention.ms"]; got != "1209600000" {
		t.Errorf("topics.overrides not applied: vendor.receipts.v1 retention.ms = %q", got)
	}
}

// TestTypoFails proves the point of the strict decoding: a misspelt field in a template
// renders without complaint and would only fail at install, but fails here.
func TestTypoFails(t *testing.T) {
	for _, typo := range []struct{ file, from, to string }{
		{"templates/deployment.yaml", "readinessProbe:", "readynessProbe:"},
		{"templates/pdb.yaml", "unhealthyPodEvictionPolicy:", "unhealthyPodEvictPolicy:"},
		{"templates/kafkatopics.yaml", "topicName:", "topic:"},
		{"templates/deployment.yaml", "sizeLimit:", "sizelimit:"},
		{"templates/servicemonitor.yaml", "scrapeTimeout:", "scrapeTimout:"},
		{"templates/scaledobject.yaml", "cooldownPeriod:", "cooldownPeriods:"},
	} {
		t.Run(typo.to, func(t *testing.T) {
			c := loadChart(t)
			var found bool
			for _, f := range c.Templates {
				if f.Name == typo.file && bytes.Contains(f.Data, []byte(typo.from)) {
					f.Data = bytes.Replace(f.Data, []byte(typo.from), []byte(typo.to), 1)
					found = true
				}
			}
			if !found {
				t.Fatalf("%s has no %q to misspell", typo.file, typo.from)
			}
			if _, err := render(t, c, "testdata/everything.yaml"); err == nil {
				t.Errorf("%s with %q rendered and decoded without error", typo.file, typo.to)
			}
		})
	}
}

// TestSecretValueRefused: a secret given as a plain setting fails the render, with a
// pointer to the reference it should be.
func TestSecretValueRefused(t *testing.T) {
	bad := path.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("services:\n  vendor-fanout:\n    env:\n      CONSENTRY_VENDOR_HUBSPOT_TOKEN: pat-na1-0000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := render(t, loadChart(t), bad)
	if err == nil || !strings.Contains(err.Error(), "by reference") {
		t.Errorf("a vendor token in env rendered (err = %v)", err)
	}
}

// TestOldWebhookSecretRefused: values from before the Ed25519 keys fail the render with
// the way forward, rather than deploy services that no longer read the shared secret.
func TestOldWebhookSecretRefused(t *testing.T) {
	old := path.Join(t.TempDir(), "old.yaml")
	if err := os.WriteFile(old, []byte("secrets:\n  webhookSecret: {name: consentry-webhooks, key: secret}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := render(t, loadChart(t), old)
	if err == nil || !strings.Contains(err.Error(), "secrets.webhookSigningKeys") {
		t.Errorf("secrets.webhookSecret rendered (err = %v)", err)
	}
}

// TestValuesHoldNoSecrets: values.yaml names Secrets and keys, never a value; anything that
// looks like key material (long base64, a postgres:// URL with a password) fails.
func TestValuesHoldNoSecrets(t *testing.T) {
	b, err := os.ReadFile(path.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if regexp.MustCompile(`[A-Za-z0-9+/]{32,}={0,2}|postgres(ql)?://[^@\s]+:[^@\s]+@`).MatchString(line) {
			t.Errorf("values.yaml:%d looks like a secret: %s", i+1, line)
		}
	}
}

// TestConsoleBehindTheIngress: the console is off by default; on, it is served at its
// public host by the ingress, over TLS, talks to the four services by their Services, and
// takes its secrets by reference.
func TestConsoleBehindTheIngress(t *testing.T) {
	if r := mustRender(t); len(r["Ingress"]) > 0 || r["Deployment"]["consentry-console"] != nil {
		t.Error("the defaults deploy the console; it needs an identity provider first")
	}
	r := mustRender(t, "testdata/everything.yaml")
	d, ok := r["Deployment"]["consentry-console"].(*appsv1.Deployment)
	if !ok {
		t.Fatal("no console Deployment")
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	for name, want := range map[string]string{
		"CONSOLE_PUBLIC_URL": "https://consentry-console.example.com", "CONSOLE_OIDC_ISSUER": "https://login.example.com/realms/staff",
		"CONSOLE_INGEST_URL": "http://consentry-consent-ingest:8081", "CONSOLE_AUDIT_URL": "http://consentry-audit-sink:8084",
		"CONSOLE_FANOUT_URL": "http://consentry-vendor-fanout:8083", "CONSOLE_UNSUBSCRIBE_URL": "http://consentry-unsubscribe-handler:8082",
	} {
		if env[name].Value != want {
			t.Errorf("%s = %q, want %q", name, env[name].Value, want)
		}
	}
	for _, name := range []string{"CONSOLE_SESSION_KEY", "CONSOLE_API_KEY", "CONSOLE_OIDC_CLIENT_SECRET", "CONSOLE_CONTROLLER_KEYS"} {
		if e := env[name]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s is not taken from a Secret: %+v", name, e)
		}
	}
	svc, ok := r["Service"]["consentry-console"].(*corev1.Service)
	if !ok {
		t.Fatal("no console Service")
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the console Service selects %s=%s, which its pods lack", k, v)
		}
	}
	ing, ok := r["Ingress"]["consentry-console"].(*networkingv1.Ingress)
	if !ok {
		t.Fatal("no console Ingress")
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].Hosts[0] != "consentry-console.example.com" ||
		ing.Spec.Rules[0].Host != "consentry-console.example.com" || ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != "consentry-console" {
		t.Errorf("the console Ingress: %+v", ing.Spec)
	}
	for _, v := range []string{"http://console.example.com", ""} {
		c := loadChart(t)
		c.Values["console"].(map[string]any)["enabled"] = true
		c.Values["console"].(map[string]any)["publicURL"] = v
		c.Values["console"].(map[string]any)["oidc"].(map[string]any)["issuer"] = "https://login.example.com"
		if _, err := render(t, c); err == nil || !strings.Contains(err.Error(), "console.publicURL") {
			t.Errorf("publicURL %q: %v, want a refusal naming console.publicURL", v, err)
		}
	}
}
