// Runs each case of cases.json through Go's own text/template and writes what Go printed (or
// its error) to corpus.json, which tests/unit/cli-template-corpus.test.ts compares berth's
// engine with. Regenerate with: go run gen.go < cases.json > corpus.json (Go 1.19, Debian 12's
// golang-go). JSON numbers become Go ints when integral and float64 otherwise, as berth's engine
// reads JavaScript numbers. docker's template functions are written here after their documented
// behaviour (github.com/docker/cli templates package).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"text/template"
)

// cases.json: {"data": the data of every case, "cases": [{name, template, missingkey?, nodata?, row?}]}.
// A case with "row" runs on a *Row (a struct with a method, as docker's formatter contexts) instead.
type input struct {
	Data  json.RawMessage `json:"data"`
	Cases []tcase         `json:"cases"`
}

type tcase struct {
	Name       string `json:"name"`
	Template   string `json:"template"`
	MissingKey string `json:"missingkey,omitempty"`
	NoData     bool   `json:"nodata,omitempty"`
	Row        bool   `json:"row,omitempty"`
}

// Inner and Row: tests/unit/cli-template-corpus.test.ts builds the same values with goStruct.
type Inner struct {
	A string
}

type Row struct {
	Names  string
	Size   int
	Ratio  float64
	Tags   []string
	Labels map[string]string
	Inner  Inner
	Nil    *Inner
}

func (r *Row) Label(name string) string { return r.Labels[name] }

func newRow() *Row {
	return &Row{Names: "web", Size: 3, Ratio: 0.5, Tags: []string{"a", "b"}, Labels: map[string]string{"tier": "front", "a.b-c_d": "x"}, Inner: Inner{A: "x"}}
}

type result struct {
	tcase
	Out   *string `json:"out,omitempty"`
	Error *string `json:"error,omitempty"`
}

func convert(v interface{}) interface{} {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			if i, err := x.Int64(); err == nil {
				return int(i)
			}
		}
		f, _ := x.Float64()
		return f
	case map[string]interface{}:
		for k, e := range x {
			x[k] = convert(e)
		}
		return x
	case []interface{}:
		for i, e := range x {
			x[i] = convert(e)
		}
		return x
	}
	return v
}

func toJSON(v interface{}) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSpace(b.String())
}

func join(elems interface{}, sep string) (string, error) {
	if elems == nil {
		return "", nil
	}
	rv := reflect.ValueOf(elems)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(rv.Index(i).Interface())
		}
		return strings.Join(parts, sep), nil
	case reflect.Map:
		var parts []string
		for _, k := range rv.MapKeys() {
			parts = append(parts, fmt.Sprint(rv.MapIndex(k).Interface()))
		}
		sort.Strings(parts)
		return strings.Join(parts, sep), nil
	}
	return "", fmt.Errorf("expected slice, got %T", elems)
}

var funcs = template.FuncMap{
	"json":  toJSON,
	"split": strings.Split,
	"join":  join,
	"title": strings.Title,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, pre, suf int) string {
		if s == "" {
			return s
		}
		return strings.Repeat(" ", pre) + s + strings.Repeat(" ", suf)
	},
	"truncate": func(s string, n int) string {
		if len(s) < n {
			return s
		}
		return s[:n]
	},
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	out := make([]result, 0, len(in.Cases))
	for _, c := range in.Cases {
		r := result{tcase: c}
		var data interface{}
		if c.Row {
			data = newRow()
		} else if !c.NoData {
			dec := json.NewDecoder(bytes.NewReader(in.Data))
			dec.UseNumber()
			if err := dec.Decode(&data); err != nil {
				panic(err)
			}
			data = convert(data)
		}
		t, err := template.New("").Funcs(funcs).Parse(c.Template)
		if err == nil && c.MissingKey != "" {
			t = t.Option("missingkey=" + c.MissingKey)
		}
		if err == nil {
			var b bytes.Buffer
			err = t.Execute(&b, data)
			if err == nil {
				s := b.String()
				r.Out = &s
			}
		}
		if err != nil {
			s := err.Error()
			r.Error = &s
		}
		out = append(out, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
