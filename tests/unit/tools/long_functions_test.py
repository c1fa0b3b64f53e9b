"""Tests of tools/long_functions.py's function finder (a heuristic, so its cases are pinned)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tools"))
import long_functions  # noqa: E402


def names(text):
    return [(n, a, b) for n, a, b in long_functions.find_functions(text)]


class FindFunctionsTest(unittest.TestCase):
    # Tests that a free function's lines run from its signature to its closing brace.
    def test_counts_signature_to_closing_brace(self):
        self.assertEqual(names("int F(int a,\n      int b) {\n  return a;\n}\n"),
                         [("F", 1, 4)])

    # Tests that braces in strings, raw strings, characters and comments are not counted.
    def test_ignores_braces_in_literals_and_comments(self):
        text = ('void G() {\n  const char* s = "}";\n  char c = \'{\';\n'
                '  // }\n  /* { */\n  auto r = R"x(})x";\n}\nvoid H() {}\n')
        self.assertEqual(names(text), [("G", 1, 7), ("H", 8, 8)])

    # Tests that namespaces and classes are entered and member functions named.
    def test_enters_namespaces_and_classes(self):
        text = ("namespace a {\nnamespace {\nclass C {\n public:\n  int M() const {\n"
                "    return 1;\n  }\n};\n}  // namespace\nvoid C::N() {\n}\n}  // namespace a\n")
        self.assertEqual(names(text), [("M", 5, 7), ("C::N", 10, 11)])

    # Tests that a constructor's brace-initialized members are not taken for its body.
    def test_member_initializers_are_not_the_body(self):
        text = "Foo::Foo(int x)\n    : a_{x},\n      b_{x} {\n  Init();\n}\n"
        self.assertEqual(names(text), [("Foo::Foo", 1, 5)])

    # Tests that data initializers and namespace-level lambdas are no functions, and that
    # lambdas inside a function count as part of it.
    def test_initializers_are_not_functions_and_lambdas_belong_to_their_function(self):
        text = ("const int kT[] = {1, 2};\nauto kF = [](int x) {\n  return x;\n};\n"
                "void F() {\n  auto g = [] {\n  };\n}\n")
        self.assertEqual(names(text), [("F", 5, 8)])

    # Tests that preprocessor lines (with continuations) are ignored.
    def test_ignores_preprocessor_lines(self):
        text = "#define X(a) { \\\n  a }\nvoid F() {\n#if 1\n}\n#else\n}\n#endif\n"
        self.assertEqual(names(text)[0][0], "F")


if __name__ == "__main__":
    unittest.main()
