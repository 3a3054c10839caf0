def test_the_world_has_two_communes_with_their_villages(world):
    assert world.a1.parent == world.commune_a
    assert world.b1.parent == world.commune_b
    assert world.commune_a != world.commune_b
