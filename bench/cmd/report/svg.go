package main

import (
	"fmt"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH                          = 640, 400
	padLeft, padRight, padTop, padBottom    = 80, 30, 60, 70
	plotW, plotH                            = chartW - padLeft - padRight, chartH - padTop - padBottom
	colorSymauth, colorUncoordinated, inkGr = "#1f77b4", "#d62728", "#888"
)

// loginsChart draws the logins per session end against N for both clients,
// both axes in log scale, as a self-contained SVG document.
func loginsChart(points []stampedePoint) string {
	if len(points) == 0 {
		return ""
	}
	minN, maxN, maxLogins := points[0].n, points[0].n, 1
	for _, p := range points {
		minN, maxN = min(minN, p.n), max(maxN, p.n)
		maxLogins = max(maxLogins, p.symauth, p.uncoordinated)
	}
	x0, x1 := math.Floor(math.Log10(float64(minN))), math.Ceil(math.Log10(float64(maxN)))
	if x1 <= x0 {
		x1 = x0 + 1
	}
	y1 := max(math.Ceil(math.Log10(float64(maxLogins))), 1)
	// A fifth of a decade of room around the data, so that no point sits on
	// the frame.
	const room = 0.2
	x := func(v float64) float64 { return padLeft + (math.Log10(v)-x0+room)/(x1-x0+2*room)*plotW }
	y := func(v float64) float64 { return padTop + plotH - (math.Log10(v)+room)/(y1+2*room)*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="16" text-anchor="middle">Logins per session end, N requests in flight</text>`+"\n", chartW/2)

	// Grid and tick labels, one per decade.
	for e := x0; e <= x1; e++ {
		v := math.Pow(10, e)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x(v), padTop, x(v), padTop+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(v), padTop+plotH+18, thousands(int(v)))
	}
	for e := 0.0; e <= y1; e++ {
		v := math.Pow(10, e)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", padLeft, y(v), padLeft+plotW, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padLeft-8, y(v)+4, thousands(int(v)))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="%s"/>`+"\n", padLeft, padTop, plotW, plotH, inkGr)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">requests in flight when the session ends (N, log scale)</text>`+"\n",
		padLeft+plotW/2, chartH-20)
	fmt.Fprintf(&b, `<text transform="translate(22 %d) rotate(-90)" text-anchor="middle">logins (log scale)</text>`+"\n", padTop+plotH/2)

	// The two series, with their values.
	series := []struct {
		name, color string
		logins      func(stampedePoint) int
		labelDy     int
	}{
		{"uncoordinated (a login per 401, as the SDKs do)", colorUncoordinated, func(p stampedePoint) int { return p.uncoordinated }, -10},
		{"symauth (one shared login)", colorSymauth, func(p stampedePoint) int { return p.symauth }, -10},
	}
	for i, s := range series {
		var path []string
		for _, p := range points {
			if v := s.logins(p); v > 0 {
				path = append(path, fmt.Sprintf("%.1f,%.1f", x(float64(p.n)), y(float64(v))))
			}
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(path, " "), s.color)
		for _, p := range points {
			v := s.logins(p)
			if v <= 0 {
				continue
			}
			px, py := x(float64(p.n)), y(float64(v))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", px, py, s.color)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s</text>`+"\n", px, py+float64(s.labelDy), s.color, thousands(v))
		}
		// Legend, top left inside the plot.
		ly := padTop + 18 + 18*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", padLeft+12, ly-4, padLeft+36, ly-4, s.color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", padLeft+42, ly, s.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}
