// The lexer of Go's text/template (pkg.go.dev/text/template, "Text and spaces", "Actions"):
// items with their byte-free position (a UTF-16 offset; errors convert to Go's byte columns) and
// line, the same item kinds and the same error texts as Go's lexer (text/template/parse/lex.go),
// so that a bad --format fails with the message a docker user would see.

export type ItemType =
  | "error" | "bool" | "char" | "charConstant" | "comment" | "assign" | "declare" | "eof" | "field"
  | "identifier" | "leftDelim" | "leftParen" | "number" | "pipe" | "rawString" | "rightDelim"
  | "rightParen" | "space" | "string" | "text" | "variable"
  // keywords
  | "block" | "break" | "continue" | "dot" | "define" | "else" | "end" | "if" | "nil" | "range" | "template" | "with";

export interface Item {
  type: ItemType;
  pos: number;
  val: string;
  line: number;
}

const KEYWORDS: Record<string, ItemType> = {
  ".": "dot", block: "block", break: "break", continue: "continue", define: "define", else: "else",
  end: "end", if: "if", range: "range", nil: "nil", template: "template", with: "with",
};

const LEFT = "{{";
const RIGHT = "}}";
const TRIM = 2; // "- " or " -"

const isSpace = (c: string | undefined): boolean => c === " " || c === "\t" || c === "\r" || c === "\n";
const isAlphaNumeric = (c: string | undefined): boolean => c !== undefined && c !== "" && (c === "_" || /[\p{L}\p{Nd}]/u.test(c));
const hasLeftTrimMarker = (s: string): boolean => s.length >= 2 && s[0] === "-" && isSpace(s[1]);
const hasRightTrimMarker = (s: string): boolean => s.length >= 2 && isSpace(s[0]) && s[1] === "-";

/** Go's %#U: U+0021 '!'. */
export function goRune(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  const hex = cp.toString(16).toUpperCase().padStart(4, "0");
  return /\p{L}|\p{N}|\p{P}|\p{S}/u.test(c) || c === " " ? `U+${hex} '${c}'` : `U+${hex}`;
}

/** All items of `input`, ending with an "eof" or an "error" item. */
export function lex(input: string): Item[] {
  const items: Item[] = [];
  let start = 0;
  let pos = 0;
  let line = 1;
  let startLine = 1;
  let parenDepth = 0;
  let failed = false;

  const emit = (type: ItemType) => {
    const val = input.slice(start, pos);
    items.push({ type, pos: start, val, line: startLine });
    for (const ch of val) if (ch === "\n") line++;
    start = pos;
    startLine = line;
  };
  const ignore = () => {
    for (const ch of input.slice(start, pos)) if (ch === "\n") line++;
    start = pos;
    startLine = line;
  };
  const error = (msg: string) => {
    items.push({ type: "error", pos: start, val: msg, line: startLine });
    failed = true;
  };
  const peek = (): string | undefined => (pos < input.length ? input[pos] : undefined);
  const next = (): string | undefined => (pos < input.length ? input[pos++] : (pos++, undefined));
  const backup = () => pos--;
  const accept = (valid: string): boolean => {
    const c = peek();
    if (c !== undefined && valid.includes(c)) {
      pos++;
      return true;
    }
    return false;
  };
  const acceptRun = (valid: string) => {
    while (accept(valid));
  };
  const atRightDelim = (): [boolean, boolean] => {
    if (input.startsWith(RIGHT, pos)) return [true, false];
    if (hasRightTrimMarker(input.slice(pos)) && input.startsWith(RIGHT, pos + TRIM)) return [true, true];
    return [false, false];
  };
  const atTerminator = (): boolean => {
    const r = peek();
    if (r === undefined || isSpace(r)) return true;
    if (".,|:()".includes(r)) return true;
    return input.startsWith(RIGHT, pos);
  };

  type State = (() => State) | null;

  const lexText = (): State => {
    const x = input.indexOf(LEFT, pos);
    if (x >= 0) {
      if (x > pos) {
        pos = x;
        let trim = 0;
        if (hasLeftTrimMarker(input.slice(pos + LEFT.length))) {
          let i = pos;
          while (i > start && isSpace(input[i - 1])) i--;
          trim = pos - i;
        }
        pos -= trim;
        if (pos > start) emit("text");
        pos += trim;
        ignore();
      }
      return lexLeftDelim;
    }
    pos = input.length;
    if (pos > start) emit("text");
    items.push({ type: "eof", pos, val: "", line });
    return null;
  };

  const lexLeftDelim = (): State => {
    pos += LEFT.length;
    const trim = hasLeftTrimMarker(input.slice(pos));
    const after = trim ? TRIM : 0;
    if (input.startsWith("/*", pos + after)) {
      pos += after;
      ignore();
      return lexComment;
    }
    emit("leftDelim");
    pos += after;
    ignore();
    parenDepth = 0;
    return lexInsideAction;
  };

  const lexComment = (): State => {
    pos += 2;
    const i = input.indexOf("*/", pos);
    if (i < 0) {
      error("unclosed comment");
      return null;
    }
    pos = i + 2;
    const [delim, trim] = atRightDelim();
    if (!delim) {
      error("comment ends before closing delimiter");
      return null;
    }
    emit("comment");
    if (trim) pos += TRIM;
    pos += RIGHT.length;
    if (trim) while (isSpace(input[pos])) pos++;
    ignore();
    return lexText;
  };

  const lexRightDelim = (): State => {
    const [, trim] = atRightDelim();
    if (trim) {
      pos += TRIM;
      ignore();
    }
    pos += RIGHT.length;
    emit("rightDelim");
    if (trim) {
      while (isSpace(input[pos])) pos++;
      ignore();
    }
    return lexText;
  };

  const lexInsideAction = (): State => {
    const [delim] = atRightDelim();
    if (delim) {
      if (parenDepth === 0) return lexRightDelim;
      error("unclosed left paren");
      return null;
    }
    const r = next();
    if (r === undefined) {
      error("unclosed action");
      return null;
    }
    if (isSpace(r)) {
      backup();
      return lexSpace;
    }
    switch (r) {
      case "=":
        emit("assign");
        return lexInsideAction;
      case ":":
        if (next() !== "=") {
          error("expected :=");
          return null;
        }
        emit("declare");
        return lexInsideAction;
      case "|":
        emit("pipe");
        return lexInsideAction;
      case '"':
        return lexQuote;
      case "`":
        return lexRawQuote;
      case "$":
        return lexVariable;
      case "'":
        return lexChar;
      case "(":
        parenDepth++;
        emit("leftParen");
        return lexInsideAction;
      case ")":
        parenDepth--;
        if (parenDepth < 0) {
          error("unexpected right paren");
          return null;
        }
        emit("rightParen");
        return lexInsideAction;
    }
    if (r === ".") {
      const c = peek();
      if (c === undefined || c < "0" || c > "9") return lexField;
    }
    if (r === "." || r === "+" || r === "-" || (r >= "0" && r <= "9")) {
      backup();
      return lexNumber;
    }
    if (isAlphaNumeric(r)) {
      backup();
      return lexIdentifier;
    }
    const cp = r.codePointAt(0)!;
    if (cp <= 0x7f && cp >= 0x20 && cp !== 0x7f) {
      emit("char");
      return lexInsideAction;
    }
    error(`unrecognized character in action: ${goRune(r)}`);
    return null;
  };

  const lexSpace = (): State => {
    let n = 0;
    while (isSpace(peek())) {
      pos++;
      n++;
    }
    if (hasRightTrimMarker(input.slice(pos - 1)) && input.startsWith(RIGHT, pos - 1 + TRIM)) {
      backup();
      if (n === 1) return lexInsideAction;
    }
    emit("space");
    return lexInsideAction;
  };

  const lexIdentifier = (): State => {
    for (;;) {
      const r = next();
      if (isAlphaNumeric(r)) continue;
      backup();
      const word = input.slice(start, pos);
      if (!atTerminator()) {
        error(`bad character ${goRune(r ?? "")}`);
        return null;
      }
      const kw = KEYWORDS[word];
      if (kw) emit(kw);
      else if (word === "true" || word === "false") emit("bool");
      else emit("identifier");
      return lexInsideAction;
    }
  };

  const lexFieldOrVariable = (type: "field" | "variable"): State => {
    if (atTerminator()) {
      emit(type === "variable" ? "variable" : "dot");
      return lexInsideAction;
    }
    let r: string | undefined;
    for (;;) {
      r = next();
      if (!isAlphaNumeric(r)) {
        backup();
        break;
      }
    }
    if (!atTerminator()) {
      error(`bad character ${goRune(r ?? "")}`);
      return null;
    }
    emit(type);
    return lexInsideAction;
  };
  const lexField = (): State => lexFieldOrVariable("field");
  const lexVariable = (): State => {
    if (atTerminator()) {
      emit("variable");
      return lexInsideAction;
    }
    return lexFieldOrVariable("variable");
  };

  const lexQuoted = (close: string, type: ItemType, msg: string): State => {
    for (;;) {
      const r = next();
      if (r === "\\") {
        const e = next();
        if (e !== undefined && e !== "\n") continue;
        error(msg);
        return null;
      }
      if (r === undefined || r === "\n") {
        error(msg);
        return null;
      }
      if (r === close) break;
    }
    emit(type);
    return lexInsideAction;
  };
  const lexQuote = (): State => lexQuoted('"', "string", "unterminated quoted string");
  const lexChar = (): State => lexQuoted("'", "charConstant", "unterminated character constant");
  const lexRawQuote = (): State => {
    const i = input.indexOf("`", pos);
    if (i < 0) {
      error("unterminated raw quoted string");
      return null;
    }
    pos = i + 1;
    emit("rawString");
    return lexInsideAction;
  };

  const lexNumber = (): State => {
    accept("+-");
    let digits = "0123456789_";
    if (accept("0")) {
      if (accept("xX")) digits = "0123456789abcdefABCDEF_";
      else if (accept("oO")) digits = "01234567_";
      else if (accept("bB")) digits = "01_";
    }
    acceptRun(digits);
    if (accept(".")) acceptRun(digits);
    if (digits.length === 11 && accept("eE")) {
      accept("+-");
      acceptRun("0123456789_");
    }
    if (digits.length === 23 && accept("pP")) {
      accept("+-");
      acceptRun("0123456789_");
    }
    accept("i");
    if (isAlphaNumeric(peek())) {
      pos++;
      error(`bad number syntax: ${JSON.stringify(input.slice(start, pos))}`);
      return null;
    }
    emit("number");
    return lexInsideAction;
  };

  let state: State = lexText;
  while (state && !failed) state = state();
  return items;
}
