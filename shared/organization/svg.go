package organization

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// An SVG logo is shown by browsers, which run what an SVG may carry:
// scripts, event handlers, links, external loads. Rather than rewrite a
// logo, checkSVG refuses any that holds something outside a conservative
// allowlist of drawing elements and attributes; a designer can always
// export a plain SVG that passes.

const (
	svgNS   = "http://www.w3.org/2000/svg"
	xlinkNS = "http://www.w3.org/1999/xlink"
	xmlNS   = "http://www.w3.org/XML/1998/namespace"
)

// errNotSVG means the content is not an SVG document at all;
// an *unsafeSVG that it is one, holding something refused.
var errNotSVG = errors.New("not an SVG document")

type unsafeSVG struct{ reason string }

func (e *unsafeSVG) Error() string { return e.reason }

func refuse(format string, args ...any) error { return &unsafeSVG{fmt.Sprintf(format, args...)} }

// svgElements are the elements a logo may use: shapes, text, paint
// servers, clipping, masking and a few filter primitives. Absent on
// purpose: script, foreignObject, image, a, use of external documents,
// animation elements (they can set attributes such as href), feImage.
var svgElements = sync.OnceValue(func() map[string]bool {
	return set(`svg g defs symbol use title desc style path rect circle ellipse line
	polyline polygon text tspan textPath linearGradient radialGradient stop pattern clipPath mask
	marker filter feGaussianBlur feOffset feBlend feColorMatrix feComposite feFlood feMerge
	feMergeNode feDropShadow feMorphology feComponentTransfer feFuncR feFuncG feFuncB feFuncA`)
})

// svgAttributes are the attributes a logo may use, on any allowed element.
var svgAttributes = sync.OnceValue(func() map[string]bool {
	return set(`id class style transform version baseProfile x y x1 y1 x2 y2 cx cy r rx ry
	fx fy fr width height viewBox preserveAspectRatio d points pathLength href
	fill fill-opacity fill-rule stroke stroke-width stroke-linecap stroke-linejoin stroke-miterlimit
	stroke-dasharray stroke-dashoffset stroke-opacity opacity clip-path clip-rule clipPathUnits
	mask maskUnits maskContentUnits gradientUnits gradientTransform spreadMethod offset stop-color
	stop-opacity patternUnits patternContentUnits patternTransform marker-start marker-mid marker-end
	markerWidth markerHeight markerUnits refX refY orient filter filterUnits primitiveUnits in in2
	result stdDeviation mode operator k1 k2 k3 k4 values type tableValues slope intercept amplitude
	exponent flood-color flood-opacity radius dx dy rotate textLength lengthAdjust startOffset
	font-family font-size font-weight font-style font-variant text-anchor dominant-baseline
	alignment-baseline baseline-shift letter-spacing word-spacing text-decoration writing-mode
	display visibility overflow color color-interpolation color-interpolation-filters
	vector-effect shape-rendering text-rendering image-rendering paint-order mix-blend-mode
	isolation lang`)
})

func set(words string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(words) {
		out[w] = true
	}
	return out
}

// Limits that bound the work a crafted document can cause.
const (
	svgMaxDepth    = 64
	svgMaxElements = 20000
)

// fragment is a same-document reference: the only kind of link allowed.
var fragment = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^#[A-Za-z_][A-Za-z0-9_.:-]*$`) })

// cssURL is the one url() allowed: a same-document reference, url(#id).
var cssURL = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^url\(\s*(['"]?)#[A-Za-z_][A-Za-z0-9_.:-]*(['"]?)\s*\)`)
})

// cssProperties are the properties a logo's CSS may set: painting, text and
// geometry, none of which takes an image. Anything else (background,
// content, cursor, list-style, custom properties…) is refused rather than
// judged.
var cssProperties = sync.OnceValue(func() map[string]bool {
	return set(`fill fill-opacity fill-rule stroke stroke-width stroke-linecap stroke-linejoin
	stroke-miterlimit stroke-dasharray stroke-dashoffset stroke-opacity opacity clip-path clip-rule mask
	stop-color stop-opacity flood-color flood-opacity lighting-color marker marker-start marker-mid
	marker-end filter font font-family font-size font-weight font-style font-variant font-stretch
	text-anchor dominant-baseline alignment-baseline baseline-shift letter-spacing word-spacing
	text-decoration writing-mode display visibility overflow color color-interpolation
	color-interpolation-filters vector-effect shape-rendering text-rendering image-rendering
	paint-order mix-blend-mode isolation transform transform-origin transform-box`)
})

// cssFunctions are the functions a logo's CSS or attribute values may
// call: colours, transforms and url(#id). image-set(), image(), element(),
// cross-fade(), src(), var() and any other are refused, since some load
// resources and new ones may.
var cssFunctions = sync.OnceValue(func() map[string]bool {
	return set(`rgb rgba hsl hsla url translate translatex translatey scale scalex scaley
	rotate skewx skewy matrix`)
})

// checkCSS refuses style text (a style element's sheet, or with
// declarations true a style attribute's declarations) that could load or
// run anything: at-rules, escapes, a property outside cssProperties, and a
// function outside cssFunctions or url() other than url(#id).
func checkCSS(where, css string, declarations bool) error {
	low := strings.ToLower(css)
	for _, bad := range []string{"@", "\\", "<", "javascript:", "expression("} {
		if strings.Contains(low, bad) {
			return refuse("%s holds %q, which could load or run content", where, bad)
		}
	}
	inBlock := declarations
	var part strings.Builder // the selector or declaration being read
	for i := 0; i < len(low); i++ {
		c := low[i]
		switch {
		case c == '/' && i+1 < len(low) && low[i+1] == '*':
			end := strings.Index(low[i+2:], "*/")
			if end < 0 {
				return refuse("%s holds an unterminated comment", where)
			}
			i += end + 3
			part.WriteByte(' ') // a comment separates tokens
		case c == '"' || c == '\'':
			end := strings.IndexAny(low[i+1:], string(c)+"\n")
			if end < 0 || low[i+1+end] != c {
				return refuse("%s holds an unterminated string", where)
			}
			part.WriteString(low[i : i+end+2])
			i += end + 1
		case c == '{':
			if inBlock {
				return refuse("%s holds nested blocks, which are not allowed", where)
			}
			inBlock = true
			part.Reset() // a selector loads nothing
		case c == '}' || c == ';':
			if !inBlock || (c == '}' && declarations) {
				return refuse("%s holds a stray %q", where, c)
			}
			if err := checkDeclaration(where, part.String()); err != nil {
				return err
			}
			part.Reset()
			inBlock = c == ';' || declarations
		default:
			part.WriteByte(c)
		}
	}
	if inBlock && !declarations {
		return refuse("%s holds an unterminated block", where)
	}
	if declarations {
		return checkDeclaration(where, part.String())
	}
	return nil
}

// checkDeclaration refuses a CSS declaration (lower-cased) whose property
// is not in cssProperties or whose value calls a function not allowed.
func checkDeclaration(where, decl string) error {
	if strings.TrimSpace(decl) == "" {
		return nil
	}
	prop, value, ok := strings.Cut(decl, ":")
	prop = strings.TrimSpace(prop)
	if !ok || !cssProperties()[prop] {
		return refuse("%s sets the CSS property %q, which is not allowed in a logo", where, prop)
	}
	return checkFunctions(where, value)
}

// cssFunction finds a function call: a name, then "(".
var cssFunction = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`([a-z0-9_-]*)\s*\(`) })

// checkFunctions refuses a value (lower-cased) that calls a function
// outside cssFunctions, or url() other than url(#id).
func checkFunctions(where, value string) error {
	for _, m := range cssFunction().FindAllStringSubmatchIndex(value, -1) {
		name := value[m[2]:m[3]]
		if !cssFunctions()[name] {
			return refuse("%s calls %s(), which is not allowed in a logo", where, name)
		}
		if name == "url" {
			if u := cssURL().FindStringSubmatch(value[m[0]:]); u == nil || u[1] != u[2] {
				return refuse("%s holds url() that is not a reference to an element of the logo (url(#id)); external resources are not allowed", where)
			}
		}
	}
	return nil
}

// checkSVG returns nil for an SVG document made only of allowed parts,
// errNotSVG for content that is not SVG, and an *unsafeSVG saying what is
// refused otherwise.
func checkSVG(data []byte) error {
	if !utf8.Valid(data) {
		return errNotSVG
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true // no Entity map: any entity but the five predefined is an error
	var stack []string
	var css strings.Builder // a style element's text, checked whole: a comment or CDATA could split "url("
	elements, roots := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if strings.Contains(err.Error(), "entity") {
				return refuse("entities are not allowed")
			}
			return errNotSVG
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" {
				return refuse("the processing instruction <?%s?> is not allowed (it could load a style sheet)", t.Target)
			}
		case xml.Directive:
			return refuse("DOCTYPE and other <!...> declarations are not allowed (they can define entities)")
		case xml.Comment:
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return errNotSVG
				}
				continue
			}
			if stack[len(stack)-1] == "style" {
				css.Write(t)
			}
		case xml.StartElement:
			elements++
			if len(stack) == 0 {
				roots++
				if roots > 1 || t.Name.Local != "svg" || t.Name.Space != svgNS {
					return errNotSVG
				}
			}
			if len(stack) > 0 && stack[len(stack)-1] == "style" {
				return refuse("the style element must hold only text")
			}
			if len(stack) >= svgMaxDepth || elements > svgMaxElements {
				return refuse("the document is nested deeper than %d or has more than %d elements", svgMaxDepth, svgMaxElements)
			}
			if err := checkElement(t); err != nil {
				return err
			}
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			if t.Name.Local == "style" {
				if err := checkCSS("the style element", css.String(), false); err != nil {
					return err
				}
				css.Reset()
			}
			stack = stack[:len(stack)-1]
		}
	}
	if roots != 1 {
		return errNotSVG
	}
	return nil
}

func checkElement(t xml.StartElement) error {
	name := t.Name.Local
	switch {
	case t.Name.Space != svgNS:
		return refuse("the element <%s> is outside the SVG namespace", name)
	case name == "script":
		return refuse("the element <script> is not allowed: a logo must not run code")
	case name == "foreignObject":
		return refuse("the element <foreignObject> is not allowed: it embeds HTML")
	case !svgElements()[name]:
		return refuse("the element <%s> is not allowed in a logo", name)
	}
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue // a namespace declaration; what it names is checked on use
		}
		an := a.Name.Local
		where := fmt.Sprintf("the attribute %s of <%s>", an, name)
		switch {
		case strings.HasPrefix(strings.ToLower(an), "on"):
			return refuse("the event handler attribute %s on <%s> is not allowed: a logo must not run code", an, name)
		case a.Name.Space == xlinkNS && an == "href", a.Name.Space == "" && an == "href":
			if !fragment().MatchString(a.Value) {
				return refuse("%s must reference an element of the logo (#id); external and data links are not allowed", where)
			}
		case a.Name.Space == xmlNS && (an == "space" || an == "lang"):
		case a.Name.Space != "":
			return refuse("%s is in a namespace that is not allowed", where)
		case !svgAttributes()[an]:
			return refuse("%s is not allowed in a logo", where)
		}
		check := checkFunctions(where, strings.ToLower(a.Value)) // a presentation attribute is a CSS value
		if an == "style" {
			check = checkCSS(where, a.Value, true)
		}
		if check != nil {
			return check
		}
	}
	return nil
}
