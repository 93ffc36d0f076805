package main

import (
	"fmt"
	"html"
	"strings"
	"time"
)

// Chart geometry, in SVG user units (px).
const (
	chartWidth = 1060
	labelWidth = 300
	barWidth   = 280
	barHeight  = 16
	rowHeight  = 22
	panelTop   = 44 // title and column headings above the first bar
)

// chartSVG draws, per scenario, one horizontal bar per target for req/s
// (MB/s for downloads) and one for p99 latency, each scaled to the
// scenario's largest value. It is hand-built SVG 1.1 with no scripts.
func chartSVG(results []scenarioResult) string {
	height := 20
	for _, r := range results {
		height += panelTop + rowHeight*len(r.rows) + 16
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", chartWidth, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, height)
	y := 20
	for _, r := range results {
		y = panel(&b, r, y)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// panel draws one scenario starting at y and returns the next panel's y.
func panel(b *strings.Builder, r scenarioResult, y int) int {
	thr := func(w row) float64 { return w.rps }
	unit := "req/s"
	if r.sc.download {
		thr, unit = func(w row) float64 { return w.mbps }, "MB/s"
	}
	var maxThr float64
	var maxLat time.Duration
	for _, w := range r.rows {
		maxThr = max(maxThr, thr(w))
		maxLat = max(maxLat, w.lat[2])
	}
	fmt.Fprintf(b, `<text x="10" y="%d" font-weight="bold" font-size="14">%s</text>`+"\n", y+14, html.EscapeString(r.sc.title))
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="#555">%s (median; longer is better)</text>`+"\n", labelWidth, y+34, unit)
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="#555">p99 latency (shorter is better)</text>`+"\n", labelWidth+barWidth+70, y+34)
	y += panelTop
	for _, w := range r.rows {
		color := "#4e79a7"
		if strings.HasPrefix(w.name, "Mantrid") {
			color = "#e15759"
		} else if w.isDirect {
			color = "#9c9c9c"
		}
		fmt.Fprintf(b, `<text x="10" y="%d">%s</text>`+"\n", y+12, html.EscapeString(w.name))
		bar(b, labelWidth, y, scale(thr(w), maxThr), color, formatRate(thr(w)))
		bar(b, labelWidth+barWidth+70, y, scale(float64(w.lat[2]), float64(maxLat)), color, formatLat(w.lat[2]))
		y += rowHeight
	}
	return y + 16
}

// bar draws one bar of length w (0..barWidth) and its value label.
func bar(b *strings.Builder, x, y, w int, color, label string) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", x, y, w, barHeight, color)
	fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`+"\n", x+w+4, y+12, html.EscapeString(label))
}

// scale maps v in [0, m] to [0, barWidth].
func scale(v, m float64) int {
	if m <= 0 || v <= 0 {
		return 0
	}
	return int(v / m * barWidth)
}
