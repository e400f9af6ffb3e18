package odata

import (
	"fmt"
	"strings"
)

// MaxDepth is how deeply parentheses and not may nest in a $filter. Together with
// MaxLength it bounds the work and the stack any $filter can cost.
const MaxDepth = 64

// The grammar, loosest binding first; keywords and function names are case-insensitive,
// field names are not:
//
//	filter     = or EOF
//	or         = and { "or" and }
//	and        = unary { "and" unary }
//	unary      = "not" unary | comparison
//	comparison = operand [ ("eq"|"ne"|"gt"|"ge"|"lt"|"le") operand ]
//	operand    = "(" or ")" | call | case "(" Field ")" | Field | literal
//	call       = ("contains"|"startswith"|"endswith") "(" (Field | case "(" Field ")") "," 'text' ")"
//	case       = "tolower" | "toupper"
//	literal    = 'text' | number | true | false | null | datetime | guid
//
// OData ranks not above the comparisons, so "not Enabled eq true" means
// "(not Enabled) eq true". Comparisons of conditions are only allowed with eq and ne
// against true or false, where both readings agree; reading not as "not (comparison)" just
// also accepts "not Id eq 5", which OData would refuse as comparing a condition with 5.

// operandKind tells what an operand of a comparison is.
type operandKind int

const (
	operandField     operandKind = iota // a field, perhaps inside tolower()/toupper()
	operandLiteral                      // a literal value
	operandCondition                    // a boolean expression: a call or a parenthesised filter
)

// operand is one side of a comparison while it is being parsed.
type operand struct {
	kind     operandKind
	pos, end int

	field     string
	fieldType FieldType
	fieldCase Case

	lit token // the literal's token (string, number, datetime, guid, or ident true/false/null)

	cond Expr
}

// filterParser is a recursive-descent parser over a lexer with one token of lookahead.
// Errors unwind it by panicking with a syntaxError, which parseFilter recovers; any other
// panic is a bug and propagates.
type filterParser struct {
	lex    lexer
	tok    token
	schema Schema
	depth  int
}

// parseFilter parses and type-checks a $filter against schema. It does not apply
// MaxLength, so a rendering of a parsed filter (which may be longer) always parses back.
func parseFilter(src string, schema Schema) (e Expr, err *syntaxError) {
	p := &filterParser{lex: lexer{src: src}, schema: schema}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(syntaxError)
			if !ok {
				panic(r)
			}
			e, err = nil, &se
		}
	}()
	p.advance()
	e = p.or()
	if p.tok.kind != tokEOF {
		p.failf(p.tok.pos, "expected and, or, or the end of the filter, got %s", p.describe(p.tok))
	}
	return e, nil
}

// failf stops parsing with an error at byte offset pos.
func (p *filterParser) failf(pos int, format string, args ...any) {
	panic(syntaxError{pos, fmt.Sprintf(format, args...)})
}

// advance moves to the next token.
func (p *filterParser) advance() {
	t, err := p.lex.next()
	if err != nil {
		panic(*err)
	}
	p.tok = t
}

// peek returns the token after the current one without consuming it.
func (p *filterParser) peek() token {
	l := p.lex
	t, err := l.next()
	if err != nil {
		return token{kind: tokEOF, pos: err.pos}
	}
	return t
}

// keyword reports whether the current token is the keyword kw (given in lower case).
func (p *filterParser) keyword(kw string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, kw)
}

// expect consumes a token of kind k, or fails saying what was wanted.
func (p *filterParser) expect(k tokenKind, what string) token {
	if p.tok.kind != k {
		p.failf(p.tok.pos, "expected %s, got %s", what, p.describe(p.tok))
	}
	t := p.tok
	p.advance()
	return t
}

// describe names a token for an error message.
func (p *filterParser) describe(t token) string {
	if t.kind == tokEOF {
		return "the end of the filter"
	}
	return quote(p.lex.src[t.pos:t.end])
}

// enter counts one level of nesting at pos, failing past MaxDepth.
func (p *filterParser) enter(pos int) {
	p.depth++
	if p.depth > MaxDepth {
		p.failf(pos, "nested more than %d levels deep", MaxDepth)
	}
}

func (p *filterParser) leave() { p.depth-- }

func (p *filterParser) or() Expr {
	e := p.and()
	for p.keyword("or") {
		p.advance()
		e = &Or{Left: e, Right: p.and()}
	}
	return e
}

func (p *filterParser) and() Expr {
	e := p.unary()
	for p.keyword("and") {
		p.advance()
		e = &And{Left: e, Right: p.unary()}
	}
	return e
}

func (p *filterParser) unary() Expr {
	if !p.keyword("not") {
		return p.comparison()
	}
	p.enter(p.tok.pos)
	p.advance()
	e := &Not{X: p.unary()}
	p.leave()
	return e
}

// comparisonOp reports whether t is a comparison keyword, and which.
func comparisonOp(t token) (Op, bool) {
	if t.kind != tokIdent {
		return "", false
	}
	switch op := Op(strings.ToLower(t.text)); op {
	case Eq, Ne, Gt, Ge, Lt, Le:
		return op, true
	}
	return "", false
}

func (p *filterParser) comparison() Expr {
	left := p.operand()
	op, ok := comparisonOp(p.tok)
	if !ok {
		return p.condition(left)
	}
	opPos := p.tok.pos
	p.advance()
	right := p.operand()
	return p.compare(left, op, opPos, right)
}

// condition turns an operand that stands alone into a boolean expression: a call or a
// parenthesised filter as is, a Bool field as Field eq true.
func (p *filterParser) condition(o operand) Expr {
	switch {
	case o.kind == operandCondition:
		return o.cond
	case o.kind == operandField && o.fieldType == Bool:
		return &Compare{Field: o.field, Op: Eq, Value: true}
	case o.kind == operandField:
		p.failf(p.tok.pos, "expected a comparison operator (eq, ne, gt, ge, lt, le) after %s, got %s",
			quote(p.lex.src[o.pos:o.end]), p.describe(p.tok))
	}
	p.failf(o.pos, "expected a condition, got the value %s", quote(p.lex.src[o.pos:o.end]))
	return nil
}

// operand parses one side of a comparison.
func (p *filterParser) operand() operand {
	t := p.tok
	switch t.kind {
	case tokLParen:
		p.enter(t.pos)
		p.advance()
		e := p.or()
		if p.tok.kind != tokRParen {
			p.failf(p.tok.pos, "expected \")\" to close the \"(\" at position %d, got %s",
				p.runeOffset(t.pos), p.describe(p.tok))
		}
		end := p.tok.end
		p.advance()
		p.leave()
		return operand{kind: operandCondition, pos: t.pos, end: end, cond: e}
	case tokString, tokNumber, tokDateTime, tokGUID:
		p.advance()
		return operand{kind: operandLiteral, pos: t.pos, end: t.end, lit: t}
	case tokIdent:
		return p.identOperand()
	}
	p.failf(t.pos, "expected a field or a value, got %s", p.describe(t))
	return operand{}
}

// identOperand parses an operand that starts with a name: a keyword literal, a function
// call, or a field.
func (p *filterParser) identOperand() operand {
	t := p.tok
	name := strings.ToLower(t.text)
	switch name {
	case "true", "false", "null":
		p.advance()
		return operand{kind: operandLiteral, pos: t.pos, end: t.end, lit: t}
	case "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le":
		p.failf(t.pos, "expected a field or a value, got %s", p.describe(t))
	}
	if p.peek().kind == tokLParen {
		switch Func(name) {
		case Contains, StartsWith, EndsWith:
			return p.call()
		}
		if c := Case(name); c == ToLower || c == ToUpper {
			return p.caseField()
		}
		p.failf(t.pos, "unknown function %s (functions: contains, startswith, endswith, tolower, toupper)",
			quote(t.text))
	}
	return p.field()
}

// field parses a field name.
func (p *filterParser) field() operand {
	t := p.tok
	if t.kind != tokIdent {
		p.failf(t.pos, "expected a field, got %s", p.describe(t))
	}
	ft, ok := p.schema[t.text]
	if !ok {
		p.failf(t.pos, "%s", p.schema.unknownField(t.text))
	}
	if ft == Object {
		p.failf(t.pos, "%s is a structured field; $filter cannot use it (it can only be $select-ed)", quote(t.text))
	}
	p.advance()
	return operand{kind: operandField, pos: t.pos, end: t.end, field: t.text, fieldType: ft}
}

// caseField parses tolower(Field) or toupper(Field); the field must be a String.
func (p *filterParser) caseField() operand {
	fn := p.tok
	p.advance()
	p.expect(tokLParen, `"("`)
	f := p.field()
	if f.fieldType != String {
		p.failf(f.pos, "%s() needs a String field; %s is %s", strings.ToLower(fn.text), quote(f.field), f.fieldType)
	}
	end := p.expect(tokRParen, `")"`).end
	f.pos, f.end, f.fieldCase = fn.pos, end, Case(strings.ToLower(fn.text))
	return f
}

// call parses contains(), startswith() or endswith().
func (p *filterParser) call() operand {
	fn := p.tok
	name := Func(strings.ToLower(fn.text))
	p.advance()
	p.expect(tokLParen, `"("`)
	var f operand
	if p.tok.kind == tokIdent && p.peek().kind == tokLParen &&
		(strings.EqualFold(p.tok.text, string(ToLower)) || strings.EqualFold(p.tok.text, string(ToUpper))) {
		f = p.caseField()
	} else {
		f = p.field()
	}
	if f.fieldType != String {
		p.failf(f.pos, "%s() needs a String field; %s is %s", name, quote(f.field), f.fieldType)
	}
	p.expect(tokComma, `","`)
	arg := p.tok
	if arg.kind != tokString && arg.kind != tokGUID {
		p.failf(arg.pos, "%s() needs a text in single quotes as its second argument, got %s", name, p.describe(arg))
	}
	p.advance()
	end := p.expect(tokRParen, `")"`).end
	return operand{kind: operandCondition, pos: fn.pos, end: end,
		cond: &Call{Func: name, Field: f.field, Case: f.fieldCase, Arg: arg.text}}
}

// compare type-checks and builds left op right.
func (p *filterParser) compare(left operand, op Op, opPos int, right operand) Expr {
	if left.kind == operandLiteral && right.kind != operandLiteral {
		left, right, op = right, left, op.flip()
	}
	switch {
	case left.kind == operandLiteral:
		p.failf(left.pos, "a comparison needs a field on one side, got two values")
	case left.kind == operandField && right.kind == operandField:
		p.failf(right.pos, "comparing two fields is not supported; compare %s with a value", quote(left.field))
	case left.kind == operandCondition || right.kind == operandCondition:
		return p.compareCondition(left, op, opPos, right)
	}
	value := p.literalFor(left, op, opPos, right)
	return &Compare{Field: left.field, Case: left.fieldCase, Op: op, Value: value}
}

// compareCondition folds "condition eq true" and its variants into the condition or its
// negation; nothing else can be compared with a condition.
func (p *filterParser) compareCondition(left operand, op Op, opPos int, right operand) Expr {
	if right.kind == operandCondition {
		left, right = right, left
	}
	cond := left.cond
	if right.kind == operandField {
		p.failf(right.pos, "comparing a condition with a field is not supported")
	}
	isBool := right.kind == operandLiteral && right.lit.kind == tokIdent && !strings.EqualFold(right.lit.text, "null")
	if !isBool || (op != Eq && op != Ne) {
		p.failf(opPos, "a condition can only be compared with true or false, using eq or ne")
	}
	if strings.EqualFold(right.lit.text, "true") == (op == Eq) {
		return cond
	}
	return &Not{X: cond}
}

// literalFor checks that right's literal fits field's type and op, and returns its value.
func (p *filterParser) literalFor(field operand, op Op, opPos int, lit operand) any {
	t := lit.lit
	text := p.lex.src[lit.pos:lit.end]
	if t.kind == tokIdent && strings.EqualFold(t.text, "null") {
		if op != Eq && op != Ne {
			p.failf(opPos, "null can only be compared with eq or ne, not %s", op)
		}
		return nil
	}
	if field.fieldType == Bool && op != Eq && op != Ne {
		p.failf(opPos, "%s is a Bool field; it supports eq and ne, not %s", quote(field.field), op)
	}
	mismatch := func(hint string) {
		p.failf(lit.pos, "%s is a %s field; it cannot be compared with %s%s",
			quote(field.field), field.fieldType, text, hint)
	}
	switch field.fieldType {
	case String:
		if t.kind == tokString || t.kind == tokGUID {
			return t.text
		}
		mismatch(" (put text in single quotes)")
	case Number:
		if t.kind == tokNumber {
			return t.num
		}
		mismatch("")
	case Bool:
		if t.kind == tokIdent {
			return strings.EqualFold(t.text, "true")
		}
		mismatch(" (use true or false)")
	case DateTime:
		switch t.kind {
		case tokDateTime:
			return t.when
		case tokString:
			if when, ok := parseDateTime(t.text); ok {
				return when
			}
			p.failf(lit.pos, "%s is not a datetime (want RFC 3339, e.g. 2024-05-01T10:00:00Z)", text)
		}
		mismatch(" (write a datetime such as 2024-05-01T10:00:00Z)")
	default:
		p.failf(field.pos, "field %s has no valid type in the schema", quote(field.field))
	}
	return nil
}

// runeOffset converts a byte offset of the source into a character offset.
func (p *filterParser) runeOffset(pos int) int { return runeOffset(p.lex.src, pos) }
