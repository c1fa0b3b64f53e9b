"""Cases of tools/check_docs.py: what a code formatter does to Markdown is found; what
hand-written docs do (a span wrapped at a space, `--` before a line break, `{ }`) is not."""
import unittest

import check_docs


def found(text):
    return [what for _, _, what in check_docs.check_text("x.md", text)]


class CheckDocsTest(unittest.TestCase):
    def test_formatter_damage_is_found(self):
        self.assertTrue(found("Every `tools /\n        call` is decided."))
        self.assertTrue(found("API(`src / core / guard.h`) first."))
        self.assertTrue(found("Versions `2025 - 06 - 18` and more."))
        self.assertTrue(found("stands for `${\n  workspace}` in the policy"))
        self.assertTrue(found("#MCP gateway"))
        self.assertTrue(found("the server sees it.Only lists change"))
        self.assertTrue(found("```sh\n#the same through the daemon\n```"))
        self.assertTrue(found('```json\n{"a" : 1}\n```'))
        self.assertTrue(found("metadata (`oauth-\n  authorization-server`)"))

    def test_hand_written_docs_pass(self):
        self.assertEqual(found("run `interlock init --agent ID --\nSERVER...` to start"), [])
        self.assertEqual(found("the page `GET\n/v1/approvals/{id}` shows it"), [])
        self.assertEqual(found("brace groups `{ }`; and `a/b` paths"), [])
        self.assertEqual(found("# Title\n\ne.g. this, i.e. that; `mcp.Gateway` is a class"), [])
        self.assertEqual(found("```sh\n#!/bin/sh\n# a comment\n```"), [])
        self.assertEqual(found("writes `{\"results\": ...,\n\"failures\": ...}` to a file"), [])


if __name__ == "__main__":
    unittest.main()
