"""The checks of gradcli.lang.python_grammar's trees that a context-free grammar cannot
make: what CPython 3.11's parser refuses with its `invalid_*` rules (targets, argument and
parameter order, string escapes and f-string fields, the last two in python_strings.py),
what its compiler refuses before running anything (`return` outside a function, `break`
outside a loop, a repeated keyword or parameter, a misplaced starred expression, `global`
after a use, `nonlocal` without a binding, `:=` in a comprehension's iterable), and
gradcli's own refusals of names (SPEC §1.9) and of the targets its runner cannot guard.
"""

from __future__ import annotations

import unicodedata

from gradcli.base.errors import GradcliSyntaxError
from gradcli.lang.python_strings import FString, check_escapes, split_string

# SPEC §1.9: names a program cannot have (the same constants as gradcli/runtime/rewrite.py,
# which the differential test compares).
RESERVED_PREFIX = "_gx_"
HARMLESS_RESERVED = frozenset({"_gx_echo"})


class Problem(Exception):
    """A syntax error found while parsing (raised inside Lark's stream, so not yet the
    GradcliSyntaxError that `parse` raises)."""

    def __init__(self, message, line, column, type_name="SyntaxError"):
        super().__init__(message)
        self.error = GradcliSyntaxError(message, line, column, type_name)


def problem(message, line, column, type_name="SyntaxError"):
    return Problem(message, line, column, type_name)


def _tokens_start(node):
    meta = getattr(node, "meta", None)
    if meta is not None and not meta.empty:
        return meta.line, meta.column
    return getattr(node, "line", 1) or 1, getattr(node, "column", 1) or 1


def present_children(node):
    return [c for c in node.children if c is not None]


def name_of(node) -> str:
    name = str(node.children[0])
    # CPython reads identifiers in NFKC form (PEP 3131): `ﬁ` is `fi`.
    return name if name.isascii() else unicodedata.normalize("NFKC", name)


# Where CPython's compiler lets a starred expression stand (a display, a target list, a
# subscript); elsewhere "can't use starred expression here".
STARRED_IN = frozenset({"tuple", "list", "set", "subscript_tuple", "getitem", "star_param",
                        "paren_with_item", "exprlist_tuple"})


class Checker:
    """What CPython 3.11's parser refuses beyond the grammar (its `invalid_*` rules), and
    gradcli's refusals of names and targets."""

    def __init__(self, text: str, parse_field):
        self.text = text
        self.parse_field = parse_field  # an f-string field's text -> its tree
        self.scopes = ["module"]
        self.loops = [0]  # loops around the statement, in the current scope
        self.seen = [set()]  # names the current scope has used so far (for `global`)
        self.params = [set()]
        self.functions: list[set] = []  # names bound by each enclosing def (`nonlocal`)
        self.comprehension_targets: list[set] = []
        self.iterables = 0  # inside a comprehension's iterable

    def fail(self, message, node, type_name="SyntaxError"):
        line, column = _tokens_start(node)
        raise problem(message, line, column, type_name)

    def check(self, tree):
        self.visit(tree)

    def visit(self, node):
        if node is None or isinstance(node, str):  # a Lark Token is a str
            return
        method = getattr(self, "check_" + node.data, None)
        if method is not None and method(node) is False:
            return
        for child in node.children:
            if getattr(child, "data", None) == "star_expr" and node.data not in STARRED_IN:
                # CPython's compiler: a starred item belongs in a display or a target list.
                self.fail("can't use starred expression here", child)
            self.visit(child)

    def scope(self, kind, nodes, params=()):
        self.scopes.append(kind)
        self.loops.append(0)
        self.seen.append(set(params))
        self.params.append(set(params))
        for node in nodes:
            self.visit(node)
        self.params.pop()
        self.seen.pop()
        self.loops.pop()
        self.scopes.pop()

    def check_comprehension(self, node):
        # The first iterable belongs to the enclosing scope, the rest to the comprehension's.
        first = node.children[1]
        self.bare_star_target(first.children[0])
        self.target(first.children[0], "assign to", "comprehension")
        self.iterables += 1
        self.visit(first.children[1])
        self.iterables -= 1
        clauses = node.children[1:]
        self.comprehension_targets.append(
            {n for c in clauses if c.data == "comp_for" for n in target_names(c.children[0])})
        self.scopes.append("comprehension")
        self.loops.append(0)
        self.seen.append(set())
        self.params.append(set())
        self.visit(first.children[0])
        for clause in clauses[1:]:
            if clause.data == "comp_for":
                self.visit(clause.children[0])
                self.iterables += 1
                self.visit(clause.children[1])
                self.iterables -= 1
            else:
                self.visit(clause)
        self.visit(node.children[0])
        for stack in (self.params, self.seen, self.loops, self.scopes,
                      self.comprehension_targets):
            stack.pop()
        return False

    def check_global_stmt(self, node):
        for name_node in node.children:
            name = name_of(name_node)
            if name in self.params[-1]:
                self.fail(f"name '{name}' is parameter and global", node)
            if name in self.seen[-1]:
                self.fail(f"name '{name}' is used prior to global declaration", node)

    def loop(self, head, body, else_clause):
        for node in head:
            self.visit(node)
        self.loops[-1] += 1
        self.visit(body)
        self.loops[-1] -= 1
        self.visit(else_clause)

    def check_while_stmt(self, node):
        test, body, else_clause = node.children
        self.loop([test], body, else_clause)
        return False

    def check_return_stmt(self, node):
        if self.scopes[-1] != "function":
            self.fail("'return' outside function", node)

    def check_break_stmt(self, node):
        if not self.loops[-1]:
            self.fail("'break' outside loop", node)

    def check_continue_stmt(self, node):
        if not self.loops[-1]:
            self.fail("'continue' not properly in loop", node)

    def check_nonlocal_stmt(self, node):
        if self.scopes[-1] == "module":
            self.fail("nonlocal declaration not allowed at module level", node)
        # The enclosing defs, not this scope's own: a def's own bindings are its last set.
        enclosing = self.functions[:-1] if self.scopes[-1] == "function" else self.functions
        for name_node in node.children:
            name = name_of(name_node)
            if not any(name in names for names in enclosing):
                self.fail(f"no binding for nonlocal '{name}' found", node)
        return self.check_global_stmt(node)

    def check_try_stmt(self, node):
        clauses = [c for c in node.children if getattr(c, "data", None) == "except_clause"]
        for clause in clauses[:-1]:
            if clause.children[0] is None:
                self.fail("default 'except:' must be last", clause)

    # ----- names
    def identifier(self, name_node):
        name = name_of(name_node)
        if name.startswith(RESERVED_PREFIX) and name not in HARMLESS_RESERVED:
            self.fail(f"names starting with '{RESERVED_PREFIX}' are reserved by gradcli",
                      name_node)

    def check_name(self, node):
        self.identifier(node)

    def check_dotted_as_name(self, node):
        dotted, alias = node.children
        bound = dotted.children[0] if alias is None else alias
        self.binding(bound)
        return False

    def check_import_as_name(self, node):
        name, alias = node.children
        bound = alias if alias is not None else name
        self.binding(bound)
        return False

    def check_import_from(self, node):
        for child in node.children:
            if getattr(child, "data", None) == "import_targets":
                self.visit(child)
        return False

    def check_var(self, node):
        self.identifier(node.children[0])
        self.seen[-1].add(name_of(node.children[0]))
        return False

    def check_except_clause(self, node):
        if node.children[1] is not None:
            self.binding(node.children[1])

    check_except_star_clause = check_except_clause

    def check_assign_expr(self, node):
        name = name_of(node.children[0])
        self.target(_Var(node.children[0]), context="walrus")
        self.seen[-1].add(name)
        # CPython's symtable: `:=` in a comprehension binds in the enclosing scope, so it
        # may not rebind an iteration variable, sit in an iterable, or be in a class body.
        if self.iterables:
            self.fail("assignment expression cannot be used in a comprehension iterable "
                      "expression", node)
        if "comprehension" in self.scopes:
            if any(name in names for names in self.comprehension_targets):
                self.fail("assignment expression cannot rebind comprehension iteration "
                          f"variable '{name}'", node)
            outer = [k for k in self.scopes if k != "comprehension"][-1]
            if outer == "class":
                self.fail("assignment expression within a comprehension cannot be used in "
                          "a class body", node)

    def binding(self, name_node):
        """A name a statement binds (def, class, import, except ... as)."""
        self.identifier(name_node)
        if name_of(name_node) == "__debug__":
            self.fail("cannot assign to __debug__", name_node)
        self.seen[-1].add(name_of(name_node))

    # ----- scopes
    def check_funcdef(self, node):
        name = node.children[0]
        if name_of(name) == "__class__" and self.scopes[-1] == "class":
            self.fail("gradcli does not let a class define '__class__'", node)
        self.binding(name)
        self.parameters(node.children[1])
        for child in node.children[1:-1]:
            self.visit(child)
        params = self.parameter_names(node.children[1])
        self.functions.append(params | bound_names(node.children[-1]))
        self.scope("function", [node.children[-1]], params)
        self.functions.pop()
        return False

    @staticmethod
    def parameter_names(params):
        if params is None:
            return set()
        return {name_of(p.children[0]) for p in present_children(params)
                if p.data != "slash_param" and p.children[0] is not None}

    def check_classdef(self, node):
        name, arguments, suite = node.children
        self.identifier(name)
        self.binding(name)
        if arguments is not None:
            self.arguments(arguments)
            for argument in present_children(arguments):
                # gradcli's runner leaves a class keyword's name alone (it reaches only
                # the metaclass), so the reserved-name rule does not apply to it.
                self.visit(argument.children[1] if argument.data == "keyword" else argument)
        self.scope("class", [suite])
        return False

    def check_lambdef(self, node):
        params, body = node.children
        self.parameters(params)
        if params is not None:  # defaults are evaluated in the enclosing scope
            for param in present_children(params):
                for default in param.children[1:]:
                    self.visit(default)
        names = self.parameter_names(params)
        self.functions.append(names)
        self.scope("function", [body], names)
        self.functions.pop()
        return False

    # ----- parameters
    def parameters(self, params):
        if params is None:
            return
        items = present_children(params)
        seen_default = seen_slash = seen_star = False
        star = None
        names = set()
        for index, item in enumerate(items):
            kind = item.data
            if kind != "slash_param" and item.children[0] is not None:
                name = name_of(item.children[0])
                if name in names:
                    self.fail(f"duplicate argument '{name}' in function definition", item)
                if name == "__debug__":
                    self.fail("cannot assign to __debug__", item)
                names.add(name)
            if kind == "slash_param":
                if seen_slash or seen_star or index == 0:
                    self.fail("invalid syntax", item)
                seen_slash = True
            elif kind == "star_param":
                if seen_star:
                    self.fail("* argument may appear only once", item)
                seen_star, star = True, item
                following = items[index + 1:]
                if item.children[0] is None and (
                        not following or following[0].data != "plain_param"):
                    self.fail("named arguments must follow bare *", item)
            elif kind == "kwargs_param":
                if index != len(items) - 1:
                    self.fail("arguments cannot follow var-keyword argument", item)
            elif not seen_star:
                default = item.children[-1]
                if default is not None:
                    seen_default = True
                elif seen_default:
                    self.fail("non-default argument follows default argument", item)
        return star

    # ----- calls
    def arguments(self, node):
        if node.data == "generator_argument":
            return
        keyword = double = False
        names = set()
        for argument in present_children(node):
            kind = getattr(argument, "data", None)
            if kind == "keyword":
                target = argument.children[0]
                if getattr(target, "data", None) != "var":
                    self.fail('expression cannot contain assignment, perhaps you meant "=="?',
                              argument)
                name = name_of(target.children[0])
                if name in names:
                    self.fail(f"keyword argument repeated: {name}", argument)
                if name == "__debug__":
                    self.fail("cannot assign to __debug__", argument)
                names.add(name)
                keyword = True
            elif kind == "double_star_argument":
                double = True
            elif kind == "star_argument":
                if double:
                    self.fail("iterable argument unpacking follows keyword argument "
                              "unpacking", argument)
            elif double:
                self.fail("positional argument follows keyword argument unpacking",
                          argument)
            elif keyword:
                self.fail("positional argument follows keyword argument", argument)

    def check_funccall(self, node):
        if node.children[1] is not None:
            self.arguments(node.children[1])

    # ----- targets
    def target(self, node, what="assign to", context="assign"):
        kind = getattr(node, "data", None)
        if kind == "var":
            name = name_of(node.children[0])
            if name == "__debug__":
                self.fail("cannot assign to __debug__", node)
            if name == "__builtins__" and self.scopes[-1] != "class" and (
                    context not in ("augassign", "annassign")):
                self.fail("gradcli does not let a program assign '__builtins__'", node)
            if name == "__class__" and self.scopes[-1] == "class":
                self.fail("gradcli does not let a class define '__class__'", node)
            return
        if kind in ("getattr", "getitem"):
            if kind == "getattr" and context in ("comprehension", "with"):
                # gradcli's runner (runtime/rewrite.py) cannot guard these stores.
                where = ("a comprehension target" if context == "comprehension"
                         else "an attribute after 'as'")
                self.fail("gradcli does not support an attribute as " + where
                          if context == "comprehension" else
                          "gradcli does not support " + where, node)
            return
        if kind == "paren":
            return self.target(node.children[0], what, context)
        if kind in ("tuple", "list", "exprlist_tuple") and context not in (
                "augassign", "annassign"):
            stars = [e for e in present_children(node) if getattr(e, "data", None) == "star_expr"]
            if len(stars) > 1 and context != "del":
                self.fail("multiple starred expressions in assignment", stars[1])
            for element in present_children(node):
                if getattr(element, "data", None) == "star_expr":
                    if context == "del":
                        self.fail("cannot delete starred", element)
                    self.target(element.children[0], what, context)
                else:
                    self.target(element, what, context)
            return
        if kind == "star_expr" and context in ("assign", "for", "comprehension", "with"):
            return self.target(node.children[0], what, context)
        if kind == "exprlist_tuple":
            kind = "tuple"
        if context == "annassign" and kind in ("tuple", "list"):
            self.fail(f"only single target (not {kind}) can be annotated", node)
        if context == "augassign" and kind in ("tuple", "list"):
            self.fail(f"'{kind}' is an illegal expression for augmented assignment", node)
        if kind == "star_expr" and context == "del":
            self.fail("cannot delete starred", node)
        self.fail(f"cannot {what} {_describe(node)}", node)

    def bare_star_target(self, target):
        if getattr(target, "data", None) == "star_expr":
            self.fail("starred assignment target must be in a list or tuple", target)

    def check_assign(self, node):
        for target in node.children[:-1]:
            self.bare_star_target(target)
            self.target(target)

    def check_augassign(self, node):
        self.target(node.children[0], "assign to", "augassign")

    def check_annassign(self, node):
        target = node.children[0]
        if getattr(target, "data", None) == "paren" and getattr(
                target.children[0], "data", None) in ("tuple", "list"):
            self.fail(f"only single target (not {target.children[0].data}) can be annotated",
                      target)
        self.target(target, "assign to", "annassign")

    def check_del_stmt(self, node):
        self.target(node.children[0], "delete", "del")

    def check_for_stmt(self, node):
        target, iterable, body, else_clause = node.children
        self.bare_star_target(target)
        self.target(target, "assign to", "for")
        self.loop([target, iterable], body, else_clause)
        return False

    def check_comp_for(self, node):
        self.target(node.children[0], "assign to", "comprehension")

    def check_with_item(self, node):
        if node.children[1] is not None:
            self.target(node.children[1], "assign to", "with")

    def check_with_stmt(self, node):
        items = [c for c in node.children[:-1] if getattr(c, "data", None) == "paren_with_item"]
        if not items:
            return
        # `with (...):` holding a starred or `:=` item is a parenthesized expression to
        # Python: valid only without `as`, and a lone starred item needs its comma.
        loose = [i for i in items if getattr(i.children[0], "data", None) in (
            "star_expr", "assign_expr")]
        if loose:
            for item in items:
                if len(item.children) > 1 and item.children[1] is not None:
                    self.fail("invalid syntax", item.children[1])
            if len(items) == 1 and items[0].children[0].data == "star_expr" and not (
                    self._trailing_comma(node)):
                self.fail("cannot use starred expression here", items[0])
        for item in items:
            if len(item.children) > 1 and item.children[1] is not None:
                self.target(item.children[1], "assign to", "with")

    def _trailing_comma(self, node) -> bool:
        # The rule dropped the comma: look at the text after the last item.
        last = [c for c in node.children[:-1] if getattr(c, "data", None) == "paren_with_item"][-1]
        meta = last.meta
        lines = self.text.split("\n")
        rest = lines[meta.end_line - 1][meta.end_column - 1:]
        return rest.lstrip().startswith(",")

    # ----- strings
    def check_strings(self, node):
        kinds = set()
        node.fstring_fields = {}  # token index -> its fields, kept for the outline
        for index, token in enumerate(node.children):
            prefix, body, raw = split_string(str(token))
            is_bytes = "b" in prefix
            kinds.add(is_bytes)
            if is_bytes and not body.isascii():
                self.fail("bytes can only contain ASCII literal characters", token)
            if "f" in prefix:
                node.fstring_fields[index] = FString(
                    lambda message, at=token: self.fail(message, at), self.parse_field, body,
                    raw).check()
            elif not raw:
                check_escapes(body, is_bytes, lambda message, at=token: self.fail(message, at))
        if len(kinds) > 1:
            self.fail("cannot mix bytes and nonbytes literals", node)
        return False


class _Var:
    """A `name` seen as the target `var` it binds (the target of `:=`)."""

    data = "var"

    def __init__(self, name):
        self.children = [name]
        self.meta = name.meta


def _describe(node) -> str:
    kind = getattr(node, "data", None)
    return {
        "funccall": "function call", "number": "literal", "strings": "literal",
        "const_none": "None", "const_true": "True", "const_false": "False",
        "ellipsis": "ellipsis", "dict": "dict literal", "set": "set display",
        "list_comprehension": "list comprehension", "generator": "generator expression",
        "lambdef": "lambda", "assign_expr": "named expression", "test": "conditional expression",
        "comparison": "comparison", "not_test": "expression", "tuple": "tuple",
    }.get(kind, "expression")


TARGET_RULES = ("tuple", "list", "exprlist_tuple", "star_expr", "paren")


def target_names(node) -> set:
    """The plain names an assignment target binds."""
    kind = getattr(node, "data", None)
    if kind == "var":
        return {name_of(node.children[0])}
    if kind in TARGET_RULES:
        return {n for child in present_children(node) for n in target_names(child)}
    return set()


BINDING_TARGETS = {"assign": slice(0, -1), "augassign": slice(0, 1), "annassign": slice(0, 1),
                   "for_stmt": slice(0, 1), "del_stmt": slice(0, 1)}


def bound_names(suite) -> set:
    """The names a def's body binds (its local names), nested scopes left out but their
    names counted: what `nonlocal` in an inner def may refer to."""
    names: set = set()
    stack = [suite]
    while stack:
        node = stack.pop()
        kind = getattr(node, "data", None)
        if kind is None:
            continue
        if kind in ("funcdef", "classdef"):
            names.add(name_of(node.children[0]))
            continue
        if kind == "lambdef":  # (a comprehension's `:=` binds here: it is walked)
            continue
        part = BINDING_TARGETS.get(kind)
        if part is not None:
            for target in node.children[part]:
                names |= target_names(target)
        elif kind in ("with_item", "paren_with_item") and len(node.children) > 1:
            names |= target_names(node.children[1])
        elif kind == "assign_expr":
            names.add(name_of(node.children[0]))
        elif kind in ("except_clause", "except_star_clause") and node.children[1] is not None:
            names.add(name_of(node.children[1]))
        elif kind == "dotted_as_name":
            bound = node.children[1] or node.children[0].children[0]
            names.add(name_of(bound))
        elif kind == "import_as_name":
            names.add(name_of(node.children[1] or node.children[0]))
        stack.extend(c for c in node.children if c is not None)
    return names
