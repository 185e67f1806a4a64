"""Default article library for 情報セキュリティに関する特記事項 — data, not code.

Each article is a dict:

    key        stable identifier (organisations override or omit articles by key)
    heading    the 見出し shown as 第N条（heading）
    kinds      the engagement kinds it applies to (any of); omitted → every engagement
    when       extra conditions, all of which must hold (see annex.CONDITIONS)
    paragraphs 項, in order; each a str or {"text": str, "items": [str, ...]} (items are 号)

Numbering (第N条, ２ for the 2nd 項, （１） for 号) and 別表 numbers are computed by the composer;
never type them here. Text may use placeholders, filled once, never recursively:

    {organisation.name} {organisation.head_title} {organisation.policy_title}
    {vendor.name} {engagement.title} {engagement.reference}
    {cloud.service_name} {cloud.data_location} {cloud.governing_law} {cloud.court}
    {subcontractors.names}           「A」及び「B」
    {article.<key>}                  第N条 of another article in this document
    {table.officers} {table.accounts} {table.findings}   別表N

The parties are 甲 (the organisation) and 乙 (the contractor), as defined in the preamble.
"""

from __future__ import annotations

ARTICLES: tuple[dict, ...] = (
    {
        "key": "general",
        "heading": "総則",
        "paragraphs": [
            "本特記事項は、本契約と一体をなすものとし、乙は、本契約に基づく業務（以下「本業務」という。）の"
            "履行に当たり、本特記事項に定める事項を遵守しなければならない。",
            "本特記事項と本契約の他の条項との間に矛盾又は抵触がある場合は、情報セキュリティに関する事項に"
            "ついては本特記事項の定めが優先する。",
        ],
    },
    {
        "key": "basic",
        "heading": "基本的事項",
        "paragraphs": [
            "乙は、本業務の履行に当たり、情報資産の機密性、完全性及び可用性を維持することの重要性を認識し、"
            "{organisation.policy_title}及びこれに基づく甲の定める対策基準その他の規程のうち本業務に関係する"
            "部分を遵守しなければならない。",
            "乙は、甲の情報資産を取り扱うに当たり、関係法令を遵守し、個人の権利利益を侵害することのないよう"
            "適正に取り扱わなければならない。",
        ],
    },
    {
        "key": "confidentiality",
        "heading": "秘密の保持",
        "paragraphs": [
            "乙は、本業務の履行に当たって知り得た甲の情報（以下「業務上の情報」という。）を他に漏らしては"
            "ならない。本契約が終了し、又は解除された後においても同様とする。",
            "乙は、業務上の情報を本業務の履行以外の目的に使用してはならない。",
        ],
    },
    {
        "key": "staff",
        "heading": "従事者への周知・監督・教育",
        "paragraphs": [
            "乙は、本業務に従事する者（以下「従事者」という。）に対し、在職中及び退職後においても業務上の"
            "情報を他に漏らしてはならないこと、目的外に使用してはならないことその他本特記事項の内容を周知し、"
            "必要かつ適切な監督を行わなければならない。",
            {
                "text": "乙は、従事者に対し、本業務の開始前及び必要に応じて、次に掲げる事項に関する教育を"
                "実施しなければならない。",
                "items": [
                    "情報セキュリティ及び個人情報の保護に関する法令並びに甲の規程の内容",
                    "情報資産の取扱方法並びに情報セキュリティ事故の防止策及び発生時の対応",
                    "標的型攻撃メールその他の不正な手口とその見分け方",
                ],
            },
        ],
    },
    {
        "key": "responsibility",
        "heading": "責任体制・責任者等の届出",
        "paragraphs": [
            "乙は、本業務における情報セキュリティの確保に関する責任体制を整備し、業務責任者及び情報セキュリティ"
            "責任者を定め、{table.officers}のとおり甲に届け出るものとする。これらの者を変更する場合も、"
            "あらかじめ書面により甲に届け出なければならない。",
            "甲は、本業務における情報セキュリティに関する事項について、{table.officers}に掲げる甲の担当者を"
            "通じて乙と連絡し、協議するものとする。",
        ],
    },
    {
        "key": "work_setup",
        "heading": "業務体制・作業場所・データ保管場所",
        "paragraphs": [
            "乙は、本業務を{table.officers}に掲げる作業場所において行い、業務上の情報を同表に掲げる"
            "データ保管場所に保管するものとし、甲の承諾を得ずにこれらを変更してはならない。",
            "乙は、甲から求めがあったときは、従事者の氏名、所属、専門性及び本業務における役割並びに乙の"
            "資本関係及び類似業務の実績を甲に報告しなければならない。",
        ],
    },
    {
        "key": "collection_limit",
        "heading": "収集の制限",
        "when": ["personal_data"],
        "paragraphs": [
            "乙は、本業務の履行のために個人情報を収集するときは、本業務の目的を達成するために必要な範囲内で、"
            "適法かつ公正な手段により収集しなければならない。",
        ],
    },
    {
        "key": "safeguards",
        "heading": "適正管理",
        "paragraphs": [
            {
                "text": "乙は、業務上の情報の漏えい、滅失及び毀損の防止その他の適正な管理のため、次に掲げる"
                "措置を講じなければならない。",
                "items": [
                    "業務上の情報を取り扱う従事者を限定し、従事者ごとに必要最小限のアクセス権限を設定すること。",
                    "業務上の情報を保管する場所及び媒体を施錠その他の方法により管理すること。",
                    "業務上の情報を通信により送受信するときは、暗号化その他の盗聴防止の措置を講じること。",
                    "業務上の情報を記録した媒体を廃棄し、又は再利用するときは、復元できない方法により"
                    "消去すること。",
                    "業務上の情報の取扱状況を記録し、甲の求めに応じて提出すること。",
                ],
            },
        ],
    },
    {
        "key": "system_security",
        "heading": "情報システムに係る措置",
        "kinds": ["outsourcing"],
        "paragraphs": [
            {
                "text": "乙は、本業務において情報システムの開発、運用又は保守を行う場合は、次に掲げる措置を"
                "講じなければならない。",
                "items": [
                    "従事者又は再委託先による意図しない変更が加えられないための管理体制を整備すること。",
                    "既知の脆弱性に対する対策を講じ、その状況を甲に報告すること。",
                    "甲の求めるセキュリティ機能を実装し、納入時にその動作を確認した結果を甲に報告すること。",
                    "保守の実施状況を定期的に甲に報告すること。",
                ],
            },
        ],
    },
    {
        "key": "no_other_use",
        "heading": "目的外利用・第三者提供の禁止",
        "paragraphs": [
            "乙は、甲の指示又は承諾がある場合を除き、業務上の情報を本業務の目的以外に利用し、又は第三者に"
            "提供してはならない。",
        ],
    },
    {
        "key": "no_takeout",
        "heading": "持出しの禁止",
        "paragraphs": [
            "乙は、甲の承諾がある場合を除き、業務上の情報及びこれを記録した資料等を{table.officers}に掲げる"
            "作業場所から持ち出してはならない。",
        ],
    },
    {
        "key": "no_copy",
        "heading": "複写・複製の禁止",
        "paragraphs": [
            "乙は、甲の承諾がある場合を除き、甲から提供を受けた資料等を複写し、又は複製してはならない。",
        ],
    },
    {
        "key": "subcontracting",
        "heading": "再委託の制限",
        "when": ["no_subcontracting"],
        "paragraphs": [
            "乙は、本業務の全部又は一部を第三者に委託（二以上の段階にわたる委託を含む。以下「再委託」という。）"
            "してはならない。ただし、あらかじめ書面により甲の承諾を得た場合は、この限りでない。",
            "乙は、前項ただし書により再委託をするときは、本特記事項に定める乙の義務と同等の義務を再委託先に"
            "課し、その履行を管理監督しなければならない。",
        ],
    },
    {
        "key": "subcontracting_declared",
        "heading": "再委託",
        "when": ["subcontracting"],
        "paragraphs": [
            "甲は、乙が{table.officers}に掲げる範囲において本業務の一部を{subcontractors.names}"
            "（以下「再委託先」という。）に委託することを承諾する。",
            "乙は、再委託先に対し本特記事項に定める乙の義務と同等の義務を課し、その履行を管理監督するとともに、"
            "甲の求めに応じてその状況を報告しなければならない。再委託先の行為は、乙の行為とみなす。",
            "乙は、再委託先若しくは再委託の範囲を変更し、又は再委託先が更に委託しようとするときは、"
            "あらかじめ書面により甲の承諾を得なければならない。",
            "甲は、必要があると認めるときは、再委託先に対し、{article.audit}に定める検査及び監査を行うことが"
            "できる。",
        ],
    },
    {
        "key": "cloud_service",
        "heading": "外部サービスの提供",
        "kinds": ["cloud"],
        "paragraphs": [
            "乙は、本業務において{cloud.service_name}（以下「本サービス」という。）を提供するに当たり、"
            "本サービスの利用規約、サービスレベル及び甲乙間の責任分界を甲に明示しなければならない。",
            "乙は、本サービスが準拠する認証（ISMAPへの登録、ISO/IEC 27001、ISO/IEC 27017等）の有効性を"
            "本契約の期間を通じて維持し、その状況に変更があったときは、直ちに甲に報告しなければならない。",
            "乙は、本サービスの中断又は終了が見込まれるときは、速やかに甲に通知し、甲の業務の継続に必要な"
            "措置について甲と協議しなければならない。",
        ],
    },
    {
        "key": "cloud_low",
        "heading": "取り扱う情報の制限",
        "kinds": ["cloud"],
        "when": ["cloud_low"],
        "paragraphs": [
            "甲は、本サービスにおいて機密性2以上の情報を取り扱わないものとし、乙は、本サービスの利用条件"
            "の変更により甲の情報の取扱いに影響が生じるときは、あらかじめ甲に通知しなければならない。",
        ],
    },
    {
        "key": "data_location",
        "heading": "データの保存場所",
        "kinds": ["cloud"],
        "when": ["cloud_high"],
        "paragraphs": [
            "乙は、本サービスにおいて取り扱う甲の情報（バックアップを含む。）を{cloud.data_location}に"
            "保存し、甲の書面による承諾を得ずにこれを変更してはならない。",
            "乙は、甲の情報の保存場所又は処理経路に関係する本サービスの提供事業者及びその委託先を、"
            "甲の求めに応じて明らかにしなければならない。",
        ],
    },
    {
        "key": "governing_law",
        "heading": "準拠法及び裁判管轄",
        "kinds": ["cloud"],
        "when": ["cloud_high"],
        "paragraphs": [
            "本サービスの利用に関する契約の準拠法は{cloud.governing_law}とし、本サービスの利用に関する"
            "一切の紛争については、{cloud.court}を第一審の専属的合意管轄裁判所とする。",
            "乙は、外国の法令の適用により甲の情報が開示され、又は利用されるおそれが生じたときは、直ちに甲に"
            "通知し、その対応について甲と協議しなければならない。",
        ],
    },
    {
        "key": "cloud_exit",
        "heading": "利用終了時の措置",
        "kinds": ["cloud"],
        "when": ["cloud_high"],
        "paragraphs": [
            "乙は、本契約の終了時又は本サービスの利用終了時に、甲の情報を甲が指定する形式で甲に引き渡し、"
            "甲の業務の移行に協力しなければならない。",
            "乙は、前項の引渡しの後、本サービス上の甲の情報（バックアップを含む。）及び本業務のために作成した"
            "アカウントを復元できない方法により削除し、その結果を記録した書面を甲に提出しなければならない。",
        ],
    },
    {
        "key": "social_operation",
        "heading": "ソーシャルメディアの運用",
        "kinds": ["social_media"],
        "paragraphs": [
            "乙は、{table.accounts}に掲げるアカウント（以下「公式アカウント」という。）の運用に当たり、"
            "甲の定めるソーシャルメディアサービスの運用手順に従わなければならない。",
            {
                "text": "乙は、次に掲げる情報を公式アカウントにより発信してはならない。",
                "items": [
                    "機密性2以上の情報",
                    "甲の承認を得ていない情報",
                    "個人の権利利益を侵害し、又は法令若しくは公序良俗に反するおそれのある情報",
                ],
            },
            "乙は、災害情報その他可用性が重要な情報を発信するときは、甲のウェブサイトにも同じ情報が掲載される"
            "よう甲と連携しなければならない。",
        ],
    },
    {
        "key": "social_accounts",
        "heading": "アカウントの管理",
        "kinds": ["social_media"],
        "paragraphs": [
            {
                "text": "乙は、公式アカウントについて次に掲げる措置を講じなければならない。",
                "items": [
                    "パスワード及び認証コード並びにこれらを保持する端末を適切に管理し、多要素認証を設定すること。",
                    "公式アカウントのプロフィールに運用する所属を表示し、なりすましの防止に努めること。",
                    "{table.accounts}に掲げる責任者の指示の下で運用し、責任者を変更するときはあらかじめ甲に"
                    "届け出ること。",
                ],
            },
            "乙は、ソーシャルメディアサービスの利用規約を確認し、その変更により甲の運用に影響が生じるときは、"
            "速やかに甲に報告しなければならない。",
        ],
    },
    {
        "key": "social_hijack",
        "heading": "乗っ取り等への対応",
        "kinds": ["social_media"],
        "paragraphs": [
            {
                "text": "乙は、公式アカウントの乗っ取り若しくはなりすまし又はそのおそれを知ったときは、"
                "直ちに甲に報告し、甲の指示に従い次に掲げる措置を講じなければならない。",
                "items": [
                    "パスワードの変更その他の被害の拡大を防止する措置",
                    "ソーシャルメディアサービスの提供事業者への報告及び復旧の要請",
                    "甲のウェブサイトその他の手段による住民への注意喚起への協力",
                ],
            },
        ],
    },
    {
        "key": "findings",
        "heading": "是正事項",
        "when": ["findings"],
        "paragraphs": [
            "乙は、甲が行った情報セキュリティ対策の確認の結果に基づき、{table.findings}に掲げる事項を"
            "それぞれ同表に定める期限までに是正し、その結果を書面により甲に報告しなければならない。",
            "甲は、乙が前項の是正を期限までに完了しないときは、{article.termination}の規定により"
            "本契約を解除することができる。",
        ],
    },
    {
        "key": "return_disposal",
        "heading": "資料等の返還・廃棄",
        "paragraphs": [
            "乙は、本業務のために甲から提供を受け、又は乙が収集し、若しくは作成した資料等を、本業務の完了後"
            "直ちに甲に返還し、又は甲の指示に従い復元できない方法により廃棄し、若しくは消去しなければならない。",
            "乙は、前項の廃棄又は消去を行ったときは、その日時、方法及び担当者を記録した書面を甲に提出"
            "しなければならない。",
        ],
    },
    {
        "key": "incident",
        "heading": "事故発生時の報告",
        "paragraphs": [
            "乙は、本特記事項に違反する事態が生じ、又は生じるおそれがあることを知ったときは、直ちに甲に報告し、"
            "甲の指示に従わなければならない。",
            "乙は、前項の事態に係る原因の究明及び再発防止策を速やかに書面により甲に報告しなければならない。",
            "甲は、第１項の事態が生じたときは、必要に応じて、その内容及び乙の名称を公表することができる。",
        ],
    },
    {
        "key": "reports",
        "heading": "定期報告",
        "paragraphs": [
            "乙は、本特記事項の遵守状況について、甲が定める時期に書面により甲に報告しなければならない。",
        ],
    },
    {
        "key": "audit",
        "heading": "検査・監査",
        "paragraphs": [
            "甲は、必要があると認めるときは、乙の作業場所及びデータ保管場所に立ち入り、本特記事項の遵守状況を"
            "検査し、又は監査を行うことができる。乙は、これに協力しなければならない。",
            "甲は、前項の検査又は監査の結果、必要があると認めるときは、乙に対し改善を指示することができる。",
        ],
    },
    {
        "key": "termination",
        "heading": "契約解除・損害賠償",
        "paragraphs": [
            "甲は、乙が本特記事項に違反したときは、本契約の全部又は一部を解除することができる。",
            "乙は、本特記事項に違反したことにより甲又は第三者に損害を与えたときは、その損害を賠償しなければ"
            "ならない。再委託先の行為による損害についても同様とする。",
        ],
    },
    {
        "key": "laws",
        "heading": "関係法令の遵守",
        "paragraphs": [
            "乙は、本業務の履行に当たり、個人情報の保護に関する法律、不正アクセス行為の禁止等に関する法律"
            "その他の関係法令を遵守しなければならない。",
        ],
    },
    {
        "key": "my_number",
        "heading": "特定個人情報の取扱い",
        "when": ["my_number"],
        "paragraphs": [
            "乙は、本業務において特定個人情報を取り扱うときは、行政手続における特定の個人を識別するための番号の"
            "利用等に関する法律及び特定個人情報の適正な取扱いに関するガイドラインに従い、同法に定める安全管理"
            "措置を講じなければならない。",
            "乙は、特定個人情報を取り扱う業務の再委託をするときは、あらかじめ書面により甲の許諾を得なければ"
            "ならない。",
        ],
    },
    {
        "key": "consultation",
        "heading": "協議",
        "paragraphs": [
            "本特記事項に定めのない事項又は本特記事項の解釈について疑義が生じた事項については、甲乙協議の上"
            "定めるものとする。",
        ],
    },
)


#: Every article key, in the library's order (what a question's ``annex_articles`` may name).
ARTICLE_KEYS: tuple[str, ...] = tuple(a["key"] for a in ARTICLES)

#: The contract facts the annex prints from the contractor's answers. A question supplies one by
#: declaring ``annex_field: <key>`` (questionnaires/*.yaml); the annex snapshot is built from those
#: declarations only. ``kinds`` / ``when`` say when the fact is composed into the document, with
#: the same meaning as for an article (omitted kinds → every engagement).
ANNEX_FIELDS: dict[str, dict] = {
    "responsible_manager": {"label": "業務責任者（別表）"},
    "security_officer": {"label": "情報セキュリティ責任者（別表）"},
    "work_site": {"label": "作業場所（別表）"},
    "data_storage_site": {"label": "データ保管場所（別表）"},
    "subcontracting": {"label": "再委託の有無"},
    "subcontractors": {"label": "再委託先（別表）"},
    "service_name": {"label": "外部サービスの名称", "kinds": ["cloud"]},
    "data_location": {"label": "データの保存場所", "kinds": ["cloud"], "when": ["cloud_high"]},
    "governing_law": {"label": "準拠法", "kinds": ["cloud"], "when": ["cloud_high"]},
    "court": {"label": "管轄裁判所", "kinds": ["cloud"], "when": ["cloud_high"]},
    "social_accounts": {"label": "ソーシャルメディアのアカウント（別表）", "kinds": ["social_media"]},
}
