from vendorrisk.domain.policy import OBLIGATION_LABELS


def test_trace_page_shows_clause_text_beside_the_questions(client, seed, login):
    login(seed.users["reviewer"])
    page = client.get("/staff/trace").get_data(as_text=True)
    for label in OBLIGATION_LABELS.values():
        assert label in page
    assert "業務委託を行う場合には、委託事業者を選定し" in page
    assert "ソーシャルメディアサービスを利用する場合には" in page
    assert "この義務を確かめる設問がありません" not in page
    assert "out.contract." in page and "sns." in page
