import sympy as sp

from ibsym.bea.trees import (LEAF, Combination, free_trees, graft, instantiate_tree, num_nodes,
                         reroot_all, rooted_trees, tree_text)


def test_tree_counts_are_the_known_sequences():
    # OEIS A000081 (rooted) and A000055 (free)
    assert [len(rooted_trees(n)) for n in range(1, 8)] == [1, 1, 2, 4, 9, 20, 48]
    assert [len(free_trees(n)) for n in range(1, 9)] == [1, 1, 1, 2, 3, 6, 11, 23]


def test_grafting_counts_nodes():
    t = ((), ())
    assert len(graft(t, LEAF)) == num_nodes(t)
    assert all(num_nodes(g) == 4 for g in graft(t, LEAF))
    assert len(reroot_all((((),),))) == 3


def test_lie_derivative_is_the_product_rule_on_a_concrete_loss():
    a, b = sp.symbols("a b", real=True)
    L = sp.sin(a) * b ** 3 + a ** 2 * b
    grad = [sp.diff(L, x) for x in (a, b)]
    g = Combination({LEAF: 1})
    hg = g.lie(g)                       # ∇²L∇L
    d = hg.lie(g)                       # derivative of ∇²L∇L along ∇L
    inst = lambda c: [sum(v * instantiate_tree(t, grad, (a, b))[i] for t, v in c.terms.items())
                      for i in range(2)]
    HG = inst(hg)
    direct = [sum(sp.diff(HG[i], x) * grad[j] for j, x in enumerate((a, b))) for i in range(2)]
    got = inst(d)
    assert all(sp.simplify(x - y) == 0 for x, y in zip(direct, got))
    assert str(hg) == "∇²L∇L" and tree_text(((), ())) == "∇³L(∇L, ∇L)"
