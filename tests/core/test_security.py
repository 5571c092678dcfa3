"""Nothing a user types runs, in any path (issue 17, items 1-5).

A hostile corpus is fed to every string-accepting public function, to every field of a
rule file, to the command line and to every exporter; every generated ``.py`` is imported
and run in a subprocess (cwd = the test's folder) and every generated ``.tex`` compiled.
The payloads try to create a canary file (``CANARY*``) or to read a secret file outside
the output folder; the secret, if read by LaTeX, would itself create a canary.  Each test
asserts: no canary appears (executed = 0), the secret's content appears in no output
(leaked = 0), and every refusal is an :class:`ibsym.core.errors.InputError` (tracebacks = 0).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ibsym as ib
from ibsym.core import export, losses
from ibsym.core.errors import IbsymError, InputError
from ibsym.bea.optimizers import OPTIMIZERS, Optimizer, get_optimizer, hyper_symbol
from ibsym.bea.update_rules import load_update_rule, parse_update_rule
from ibsym.wide_relu import densities
from ibsym.wide_relu.zeta import curvature_penalty

SECRET_TEXT = "IBSYM-SECRET-51b7"
PAYLOAD = "__import__('os').system('touch CANARY_sys')"

#: {secret} is replaced by the absolute path of the secret file.
CORPUS = [
    PAYLOAD,
    '__import__("os").system("touch CANARY_dq")',
    "exec(\"open('CANARY_exec', 'w')\")",
    "eval(\"open('CANARY_eval', 'w')\")",
    "open('CANARY_open', 'w')",
    "(lambda: open('CANARY_lambda', 'w'))()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "().__class__.__bases__[0].__subclasses__()",
    "a.__class__",
    "a.real",
    "__builtins__",
    "globals()['__builtins__']",
    "getattr(a, '__class__')",
    "Symbol('x')",
    "sympy.sympify(\"open('CANARY_sympify', 'w')\")",
    "1; open('CANARY_semi', 'w')",
    "1\nopen('CANARY_newline', 'w')",
    "1\r\nopen('CANARY_crlf', 'w')",
    '"""' + PAYLOAD + '"""',
    'x""" + str(__import__("os").system("touch CANARY_doc")) + """y',
    "x''' + str(__import__('os').system('touch CANARY_doc2')) + '''y",
    "'" + PAYLOAD + "'",
    "\\",
    "\\\\' + open('CANARY_bs', 'w') + '",
    "\\input{{secret}}",
    "x}}\\input{{secret}}\\text{{y",
    "\\write18{{touch CANARY_w18}}",
    "\\immediate\\write18{{touch CANARY_iw18}}",
    "\\def\\x{{\\input{{secret}}}}\\x",
    "\\catcode`\\@=11 \\input{{secret}}",
    "$\\input{{secret}}$",
    "\\openout1=CANARY_openout \\write1{{x}}\\closeout1",
    "ｏｐｅｎ('CANARY_fullwidth', 'w')",
    "𝐨𝐩𝐞𝐧('CANARY_bold', 'w')",
    "ℯxec('open(1)')",
    "_",
    "_x",
    "a if 1 else open('CANARY_if', 'w')",
    "f\"{{open('CANARY_f', 'w')}}\"",
    "{{'a': 1}}",
    "[1, 2][0]",
    "a @ b",
    "a == b",
    "not a",
    "a and b",
    "\x00",
    "\u202eopen('CANARY_rtl', 'w')",
    "breakpoint()",
    "import os",
    "50% & #1 ~^_ {{}} <>|",
    "a.__globals__",
    "x = 1",
    "*a",
    "a[0]",
    "__import__",
    "1 # open('CANARY_comment', 'w')",
]


@pytest.fixture()
def arena(tmp_path, monkeypatch):
    """cwd = an empty work folder; the secret lives outside it; returns (work, corpus)."""
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.tex"
    # if LaTeX ever reads this file it writes a canary into its output folder
    secret.write_text(SECRET_TEXT + r"\immediate\openout7=CANARY_secret_read\immediate\write7{x}"
                      r"\immediate\closeout7" + "\n")
    monkeypatch.chdir(work)
    corpus = [s.replace("{secret}", str(secret)).replace("{{", "{").replace("}}", "}")
              if "{" in s else s for s in CORPUS]
    return work, corpus


def canaries(*folders: Path) -> list[str]:
    found = []
    for d in folders:
        found += [str(p) for p in Path(d).rglob("CANARY*")]
    return found


def probe(fn, s: str, tally: dict) -> None:
    """Call fn(s); an IbsymError is a refusal, anything else a traceback."""
    try:
        fn(s)
    except IbsymError:
        tally["refused"] += 1
    except Exception as exc:  # noqa: BLE001 -- that is the finding
        tally["tracebacks"].append(f"{type(exc).__name__}: {exc!s:.80} <- {s!r:.60}")
    else:
        tally["accepted"] += 1


def test_corpus_is_large_and_varied():
    assert len(CORPUS) >= 40
    assert len(set(CORPUS)) == len(CORPUS)


# ------------------------------------------------------------------------ Python API
EQ_CACHE: dict = {}


def _eq():
    if "eq" not in EQ_CACHE:
        EQ_CACHE["eq"] = ib.modified_equation("gd", losses.bilinear(), order=1)
        EQ_CACHE["zeta"] = curvature_penalty(densities.independent(densities.normal(0, 1),
                                                                   densities.normal(0, 1)))
    return EQ_CACHE["eq"], EQ_CACHE["zeta"]


def api_probes():
    """Every string-accepting public function, as (label, s -> call)."""
    eq, zeta = _eq()
    bil = losses.bilinear()
    return [
        ("get_optimizer(beta=s)", lambda s: get_optimizer("heavy-ball", beta=s)),
        ("with_hyper(beta=s)", lambda s: get_optimizer("heavy-ball").with_hyper(beta=s)),
        ("modified_equation(hyper=)", lambda s: ib.modified_equation(
            "heavy-ball", bil, order=0, hyper={"beta": s})),
        ("componentwise_equation(hyper=)", lambda s: ib.componentwise_equation(
            "adam", order=0, hyper={"beta": s})),
        ("eq.evaluate(at)", lambda s: eq.evaluate({"a": s, "b": 1})),
        ("eq.evaluate(h=)", lambda s: eq.evaluate({"a": 0.5, "b": 1.5}, h=s)),
        ("Optimizer(name)", lambda s: Optimizer(s, lambda th, st, g, h, hp: (th, st))),
        ("Optimizer(hyper=)", lambda s: Optimizer("x", lambda th, st, g, h, hp: (th, st),
                                                  hyper=(s,))),
        ("Optimizer(state_names=)", lambda s: Optimizer("x", lambda th, st, g, h, hp: (th, st),
                                                        state_names=(s,))),
        ("Loss.parse", lambda s: ib.Loss.parse(s, "a b")),
        ("Loss.parse(params)", lambda s: ib.Loss.parse("a*b", s)),
        ("Loss.from_batches", lambda s: ib.Loss.from_batches([s, "a^2"], "a b")),
        ("Loss(Symbol(s))", lambda s: ib.Loss(__import__("sympy").Symbol(s) ** 2,
                                              (__import__("sympy").Symbol(s),))),
        ("losses.rosenbrock(a)", lambda s: losses.rosenbrock(s)),
        ("losses.rosenbrock(b)", lambda s: losses.rosenbrock(1, s)),
        ("losses.quadratic(A)", lambda s: losses.quadratic([[s, 0], [0, 1]])),
        ("losses.quadratic(names)", lambda s: losses.quadratic([[1, 0], [0, 1]], names=s)),
        ("losses.chain(coupling)", lambda s: losses.chain(3, coupling=s)),
        ("densities.normal(mean)", lambda s: densities.normal(s, 1)),
        ("densities.normal(std)", lambda s: densities.normal(0, s)),
        ("densities.uniform", lambda s: densities.uniform(s, 1)),
        ("densities.laplace", lambda s: densities.laplace(0, s)),
        ("densities.cauchy", lambda s: densities.cauchy(s, 1)),
        ("densities.from_pdf", lambda s: densities.from_pdf(s, "t")),
        ("densities.joint", lambda s: densities.joint(s)),
        ("densities.conditional", lambda s: densities.conditional(densities.rademacher(), s)),
        ("densities.parse_distribution", lambda s: densities.parse_distribution(s)),
        ("densities.parse_joint", lambda s: densities.parse_joint(s)),
        ("Distribution.pdf", lambda s: densities.normal(0, 1).pdf(s)),
        ("zeta.evaluate", lambda s: zeta.evaluate(s)),
        ("zeta.equals", lambda s: zeta.equals(s)),
        ("parse_update_rule", lambda s: parse_update_rule(s)),
        ("deep_linear sigma_at(target=)", lambda s: _flow2().sigma_at(1, target=s, sigma0=0.01)),
        ("deep_linear sigma_at(sigma0=)", lambda s: _flow2().sigma_at(1, target=1, sigma0=s)),
        ("deep_linear solve_flow.equals", lambda s: _flow2().equals(s)),
        ("deep_linear singular_value_flow.equals", lambda s: _svf().equals(s)),
    ]


def _flow2():
    from ibsym.deep_linear.solutions import solve_flow
    return solve_flow(2)


def _svf():
    from ibsym.deep_linear.flows import singular_value_flow
    return singular_value_flow()


def test_public_api_refuses_the_corpus(arena):
    work, corpus = arena
    failures = []
    counts = {}
    for label, fn in api_probes():
        tally = {"refused": 0, "accepted": 0, "tracebacks": []}
        for s in corpus:
            probe(fn, s, tally)
        counts[label] = tally
        failures += [f"{label}: {t}" for t in tally["tracebacks"]]
    assert canaries(work) == []
    assert failures == []
    # nearly everything is refused; the few accepted strings are harmless numbers
    # ('1 # comment' is the number 1) -- names in the safe alphabet ('a and b') are names
    for label, tally in counts.items():
        assert tally["accepted"] <= (len(corpus) if label == "Optimizer(name)" else 3), (label, tally)


def test_sympify_would_have_executed_these(arena):
    # the test can fail: the old code path (sympify of the caller's string) runs the payload
    import sympy as sp
    work, _ = arena
    sp.sympify("__import__('os').system('touch CANARY_control')")
    assert (work / "CANARY_control").exists()


@pytest.mark.parametrize("call", [
    lambda s: get_optimizer("heavy-ball", beta=s),
    lambda s: _eq()[0].evaluate({"a": s, "b": 1}),
    lambda s: _eq()[0].evaluate({"a": 0.5, "b": 1.5}, h=s),
    lambda s: losses.rosenbrock(s),
    lambda s: losses.quadratic([[s, 0], [0, 1]]),
    lambda s: densities.normal(s, 1),
    lambda s: _eq()[1].evaluate(s),
    lambda s: get_optimizer("heavy-ball", beta=(s,)),     # sympify runs strings inside tuples
    lambda s: _flow2().sigma_at(1, target=(s,), sigma0=0.01),
    lambda s: _svf().equals((s,)),
    lambda s: densities.uniform((s,), 1),
])
def test_each_former_sympify_path_refuses_the_canary(arena, call):
    work, _ = arena
    with pytest.raises(InputError):
        call(PAYLOAD)
    assert canaries(work) == []


def test_text_values_still_work():
    assert get_optimizer("heavy-ball", beta="1/2").hyper_values["beta"] == __import__(
        "sympy").Rational(1, 2)
    eq = _eq()[0]
    assert eq.evaluate({"a": "1/2", "b": "3/2"}, h="0.1")["field"] == \
        eq.evaluate({"a": 0.5, "b": 1.5}, h=0.1)["field"]
    assert str(densities.normal("m", "s").params) == "(m, s)"
    assert losses.rosenbrock("1", "100") == losses.rosenbrock()


# ------------------------------------------------------------------------ names
@pytest.mark.parametrize("name", ['x"""y', "x}\\input{/etc/passwd}\\text{y", "a\nb", "é",
                                  "a;b", "a'b", "a`b", "a$b", "a%b", "", "x" * 81])
def test_optimizer_names_outside_the_safe_alphabet_are_refused(name):
    with pytest.raises(InputError):
        Optimizer(name, lambda th, st, g, h, hp: (th, st))
    with pytest.raises(InputError):
        parse_update_rule(f"name = {name}\ntheta = theta - h*grad(theta)")


def test_builtin_names_are_in_the_alphabet():
    for opt in list(OPTIMIZERS.values()) + [get_optimizer("adam", eps_outside=True,
                                                          bias_correction=False)]:
        Optimizer(opt.name, opt.update)         # no error


# ------------------------------------------------------------------------ exporters
RULE = "{meta}\ntheta = theta - h*grad(theta)\n"


def _run_modules(folder: Path, calls: dict[str, dict]) -> dict:
    """Import every module in `folder` in a subprocess (cwd=folder) and call field()."""
    script = folder / "_runner_.py"
    script.write_text(
        "import importlib.util, json, sys\n"
        "calls = json.loads(sys.argv[1])\n"
        "out = {}\n"
        "for name, kw in calls.items():\n"
        "    spec = importlib.util.spec_from_file_location('m_' + str(len(out)), name)\n"
        "    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "    out[name] = {'field': mod.field([0.5, 1.5], 0.1, **kw).tolist(),\n"
        "                 'params': list(mod.PARAMS), 'hyper': list(mod.HYPER),\n"
        "                 'doc': mod.__doc__}\n"
        "print(json.dumps(out))\n")
    proc = subprocess.run([sys.executable, str(script), json.dumps(calls)], cwd=folder,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_exports_of_hostile_rule_files_run_nothing_and_read_nothing(arena, tmp_path):
    work, corpus = arena
    out = work / "out"
    out.mkdir()
    bil = losses.bilinear()
    built, refused, tracebacks = [], 0, []
    for i, s in enumerate(corpus):
        for meta in (f"name = {s}", f"rule = {s}", f"regime = {s}", f"hyper = {s}",
                     f"state {s} = 0"):
            try:
                opt = parse_update_rule(RULE.format(meta=meta.replace("\n", " ")))
                eq = ib.modified_equation(opt, bil, order=1)
                # free text everywhere a result takes it: title and module docstring
                files = export.write(eq, out / f"r{i}_{len(built)}", formats=("tex", "json"))
                (out / f"r{i}_{len(built)}.py").write_text(
                    export.to_numpy_code(eq, module_doc=s), encoding="utf-8")
                titled = eq.latex_document(title=s)        # compiled below as all.tex
                assert export.escape_text(s) in titled and SECRET_TEXT not in titled
                built.append((s, files))
            except IbsymError:
                refused += 1
            except Exception as exc:  # noqa: BLE001
                tracebacks.append(f"{type(exc).__name__}: {exc!s:.80} <- {meta!r:.60}")
    assert tracebacks == []
    assert len(built) >= len(corpus)          # rule/regime lines are free text: always built
    # a document carrying every corpus string as a heading and a note
    doc = export.latex_document(corpus[0], [(s, r"x = 1") for s in corpus], notes=corpus)
    (out / "all.tex").write_text(doc, encoding="utf-8")
    # import and run every generated module
    res = _run_modules(out, {p.name: {} for p in sorted(out.glob("r*.py"))})
    assert res and all(r["field"] == res[next(iter(res))]["field"] for r in res.values())
    assert {r["doc"] for r in res.values()} <= set(corpus) | {None}
    # compile every .tex
    if shutil.which("pdflatex"):
        seen = set()
        for tex in sorted(out.glob("*.tex")):
            text = tex.read_text(encoding="utf-8")
            if text not in seen:              # rule/regime lines leave the LaTeX unchanged
                seen.add(text)
                export.compile_latex(tex)
        assert len(seen) >= 2
    assert canaries(tmp_path) == []
    for f in out.iterdir():
        if f.suffix in (".tex", ".json", ".py"):
            assert SECRET_TEXT not in f.read_text(encoding="utf-8"), f


def test_hostile_docstring_of_the_old_exporter_is_inert(arena):
    # issue 17 item 1, verbatim: the name used to close the module docstring
    work, _ = arena
    eq = ib.modified_equation("gd", losses.bilinear(), order=1)
    src = export.to_numpy_code(
        eq, module_doc='x""" + str(__import__("os").system("touch CANARY_doc")) + """y')
    (work / "m.py").write_text(src)
    subprocess.run([sys.executable, "-c", "import m; m.field([0.5, 1.5], 0.1)"], cwd=work,
                   check=True, timeout=120, capture_output=True)
    assert canaries(work) == []


def test_hostile_symbol_names_never_reach_generated_code(arena):
    import sympy as sp
    work, _ = arena
    a = sp.Symbol("a", real=True)
    evil = sp.Symbol("[__import__('os').system('touch CANARY_sym')][0]", positive=True)
    eq = ib.modified_equation("gd", ib.Loss((a - 1) ** 2 / 2, (a,)), order=1)
    # a symbolic constant with a hostile name in the terms: a keyword argument, renamed
    from dataclasses import replace
    eq2 = replace(eq, terms=tuple(F * evil for F in eq.terms))
    src = export.to_numpy_code(eq2)
    code = src.split("def terms")[1]
    assert "__import__" not in code and "hyper_0" in code     # only in the repr'd tables
    (work / "m2.py").write_text(src)
    proc = subprocess.run([sys.executable, "-c", "import m2; print(m2.HYPER, m2.HYPER_NAMES); "
                           "print(m2.field([2.0], 0.1, hyper_0=3.0))"], cwd=work, timeout=120,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "('hyper_0',)" in proc.stdout and "[-3.15]" in proc.stdout   # -(a-1)c + h(-c/2), a=2, c=3
    assert canaries(work) == []
    # the same name as a loss parameter is refused when the loss is built
    with pytest.raises(InputError, match="invalid parameter"):
        ib.Loss((evil - 1) ** 2, (evil,))


def test_generated_source_is_checked_against_a_whitelist():
    from ibsym.core.codegen import check_generated_source
    ok = "import numpy\nx = numpy.exp(1)\n"
    check_generated_source(ok, strings=set(), local_names={"x"})
    for bad in ["import os\n", "x = open('f')\n", "x = numpy.__dict__\n", "x = 'text'\n",
                "x = (lambda: 1)()\n", "x = y.z\n", "def f(:\n"]:
        with pytest.raises(InputError, match="cannot export NumPy code"):
            check_generated_source(bad, strings=set(), local_names={"x"})


# ------------------------------------------------------------------ item 4: every optimizer
def _builtin_cases():
    cases = []
    for name, opt in sorted(OPTIMIZERS.items()):
        numeric = {k: 2 if k == opt.steps_per_update else v      # an integer period (lookahead)
                   for k, v in zip(opt.hyper, (0.5, 0.6, 0.2, 0.1))}
        slow_symbolic = name == "minibatch-adam"            # 16 s at order 1: order 0 here
        cases.append((name, {}, 0 if slow_symbolic else 1))
        if opt.hyper:
            cases.append((name, numeric, 1))
    return cases


def test_export_of_every_builtin_optimizer_imports_and_runs(tmp_path):
    import sympy as sp
    bil = losses.bilinear()
    batches = ib.Loss.from_batches(["(a*b - 1)^2/2", "(2*a*b + 1)^2/2"], "a b")
    calls, expected = {}, {}
    for i, (name, hyper, order) in enumerate(_builtin_cases()):
        opt = OPTIMIZERS[name]
        loss = batches if opt.steps_per_update == "batches" else bil
        eq = ib.modified_equation(name, loss, order=order, hyper=hyper)
        src = export.to_numpy_code(eq)
        fname = f"opt{i}.py"
        (tmp_path / fname).write_text(src, encoding="utf-8")
        free = {k: v for k, v in zip(opt.hyper, (0.5, 0.6, 0.2, 0.1))
                if k not in hyper and k not in dict(opt.values)}      # lookahead's k = 5 is set
        calls[fname] = free
        sub = {hyper_symbol(k): sp.nsimplify(v) for k, v in free.items()}
        sub.update({p: sp.nsimplify(v) for p, v in zip(eq.params, (0.5, 1.5))})
        expected[fname] = [float(sum(eq.terms[j][c].xreplace(sub) * sp.Rational(1, 10) ** j
                                     for j in range(order + 1))) for c in range(2)]
        if free:
            assert f"*, {', '.join(free)})" in src          # keyword-only
    res = _run_modules(tmp_path, calls)
    for fname, exp in expected.items():
        assert res[fname]["field"] == pytest.approx(exp, rel=1e-10, abs=1e-12), fname


@pytest.mark.slow
def test_export_of_symbolic_minibatch_adam_order_1(tmp_path):
    batches = ib.Loss.from_batches(["(a*b - 1)^2/2", "(2*a*b + 1)^2/2"], "a b")
    eq = ib.modified_equation("minibatch-adam", batches, order=1)
    (tmp_path / "mba.py").write_text(export.to_numpy_code(eq))
    res = _run_modules(tmp_path, {"mba.py": {"beta": 0.5, "rho": 0.6, "eps": 0.2}})
    eqn = ib.modified_equation("minibatch-adam", batches, order=1,
                               hyper={"beta": 0.5, "rho": 0.6, "eps": 0.2})
    exp = eqn.evaluate({"a": 0.5, "b": 1.5}, h=0.1)["field"]
    assert res["mba.py"]["field"] == pytest.approx(exp, rel=1e-9)


@pytest.mark.parametrize("pname", ["numpy", "theta", "order", "field", "terms", "F"])
def test_parameter_and_hyper_names_that_clash_with_the_module(tmp_path, pname):
    loss = ib.Loss.parse(f"({pname} - 1)^2/2 + {pname}^4/4", pname)
    opt = Optimizer("clash", lambda th, st, g, h, hp: (th - h * hp[pname] * g(th), st),
                    hyper=(pname,))
    eq = ib.modified_equation(opt, loss, order=1)
    src = export.to_numpy_code(eq)
    (tmp_path / "clash.py").write_text(src)
    proc = subprocess.run([sys.executable, "-c",
                           "import clash; print(clash.HYPER[0], clash.HYPER_NAMES, clash.PARAMS);"
                           "print(clash.field([0.5], 0.1, **{clash.HYPER[0]: 0.5}).tolist())"],
                          cwd=tmp_path, timeout=120, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split(" ", 1)[0] == "hyper_0"
    eqn = ib.modified_equation(opt.with_hyper(**{pname: 0.5}), loss, order=1)
    exp = eqn.evaluate({pname: 0.5}, h=0.1)["field"]
    assert json.loads(proc.stdout.splitlines()[1]) == pytest.approx(exp, rel=1e-12)


# ------------------------------------------------------------------ LaTeX
def test_escape_text_leaves_no_command_or_group():
    from ibsym.core.export import _TEXT_ESCAPES, _UNICODE_MATH, _UNICODE_TEXT
    made = sorted(list(_TEXT_ESCAPES.values()) + ["$" + v + "$" for v in _UNICODE_MATH.values()]
                  + list(_UNICODE_TEXT.values()), key=len, reverse=True)
    for s in CORPUS + ["\\", "{", "}", "\\\\", "%", "$$", "^^5c", "~", "∇θ\\x"]:
        plain = export.escape_text(s)
        for m in made:
            plain = plain.replace(m, "")
        # what is left of the user's text: no backslash, brace, math, comment, newline
        assert not set(plain) & set("\\{}$%&#^_~\n\r\x00"), (s, plain)


def test_user_rule_latex_is_escaped():
    opt = parse_update_rule("name = my_opt+v2\ntheta = theta - h*grad(theta)")
    assert opt.rule_latex == r"\text{my\_opt+v2 (user-defined rule)}"


@pytest.mark.skipif(not shutil.which("pdflatex"), reason="pdflatex not installed")
def test_pdflatex_cannot_read_outside_the_document_folder(arena, tmp_path):
    work, _ = arena
    secret = tmp_path / "outside" / "secret.tex"
    (work / "doc.tex").write_text("\\documentclass{article}\\begin{document}\n\\input{"
                                  + str(secret) + "}\n\\end{document}\n")
    with pytest.raises(InputError, match="pdflatex failed"):
        export.compile_latex(work / "doc.tex")
    assert canaries(tmp_path) == []


# ------------------------------------------------------------------ item 5: rule files
def test_rule_files_need_the_opt_extension_and_errors_echo_no_content(arena, capsys):
    from ibsym.cli import main
    work, _ = arena
    notes = work / "notes.txt"
    notes.write_text(f"{SECRET_TEXT} first line\nname = x\n")
    with pytest.raises(InputError, match=r"NAME\.opt"):
        load_update_rule(notes)
    assert main(["derive", str(notes), "--order", "1"]) == 2
    err = capsys.readouterr().err
    assert "NAME.opt" in err and "--rule-file" in err and SECRET_TEXT not in err
    assert main(["derive", str(notes), "--rule-file", "--order", "1"]) == 2
    err = capsys.readouterr().err
    assert "line 1" in err and SECRET_TEXT not in err and "first line" not in err
    opt = work / "bad.opt"
    opt.write_text(f"theta = theta - h*grad(theta) + {SECRET_TEXT.replace('-', '_')} * 0 "
                   "+ more_private_text\n")
    with pytest.raises(InputError) as exc:
        load_update_rule(opt)
    msg = str(exc.value)
    assert "unknown name 'IBSYM_SECRET_51b7'" in msg and "more_private_text" not in msg
    binary = work / "blob.opt"
    binary.write_bytes(b"\xff\xfe\x00secret")
    with pytest.raises(InputError, match="not UTF-8"):
        load_update_rule(binary)


# ------------------------------------------------------------------ command line
def test_cli_options_refuse_the_corpus(arena, capsys):
    from ibsym.cli import main
    work, corpus = arena
    bad = []
    for s in corpus:
        for argv in (["derive", "gd", "--order", "1", "--loss", s, "--params", "a b"],
                     ["derive", "heavy-ball", "--order", "0", "--hyper", f"beta={s}"],
                     ["derive", "gd", "--order", "1", "--loss", "a^2", "--params", "a",
                      "--at", f"a={s}"]):
            try:
                code = main(argv)
            except BaseException as exc:  # noqa: BLE001
                bad.append(f"{type(exc).__name__} <- {argv}")
                continue
            if code not in (0, 2):
                bad.append(f"exit {code} <- {argv}")
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert bad == []
    assert canaries(work) == []
