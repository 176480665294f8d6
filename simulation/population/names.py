"""Kyrgyz and Russian names in Cyrillic, by sex, and how a full name is put together.

Forms in use on Kyrgyz documents:
- Kyrgyz, Russian-style: surname from a forefather's name with -ов/-ев (feminine -ова/-ева), given name, patronymic
  from the father's name with -ович/-овна (e.g. Асанов Нурлан Бакытович);
- Kyrgyz, traditional: no surname; the father's name followed by уулу ("son of") or кызы ("daughter of") stands in
  its place (e.g. Айгүл Бакыт кызы); since 1990s laws allow it, it is more frequent among the young;
- Russian: surname in -ов/-ев/-ин (feminine -ова/-ева/-ина) or invariant (-ко), given name, patronymic.
Lists are of common names, written as on documents (Kyrgyz letters ң, ө, ү kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KYRGYZ_MALE = (
    "Азамат", "Айбек", "Алмаз", "Асан", "Бакыт", "Бекзат", "Болот", "Данияр", "Жыргалбек", "Замир", "Искендер",
    "Канат", "Кубанычбек", "Марат", "Мирлан", "Нурбек", "Нурлан", "Руслан", "Самат", "Талант", "Тилек", "Улан",
    "Улукбек", "Эрлан", "Эрмек", "Элдияр", "Жоомарт", "Мелис", "Адилет", "Нуржигит", "Бакытбек", "Чыңгыз",
    "Темирлан", "Медер", "Нурсултан", "Бектур", "Алымбек", "Таалай", "Калыс", "Султан", "Айдар", "Мурат",
    "Кайрат", "Жаныбек", "Токтосун", "Мамат", "Абдыкадыр", "Эсенбек", "Урмат", "Үсөн", "Өмүрбек", "Төлөгөн",
)  # fmt: skip
KYRGYZ_FEMALE = (
    "Айгүл", "Айжан", "Айпери", "Айнура", "Асель", "Бермет", "Бурул", "Гүлнара", "Гүлмира", "Динара", "Жылдыз",
    "Жамила", "Канышай", "Назгүл", "Нуриза", "Нуржан", "Сезим", "Толгонай", "Чолпон", "Эльмира", "Айзада",
    "Мээрим", "Айдана", "Каныкей", "Жибек", "Гүлзат", "Бегимай", "Акылай", "Алтынай", "Нургүл", "Айсулуу",
    "Бактыгүл", "Зуура", "Сайкал", "Жазгүл", "Венера", "Мира", "Аида", "Элиза", "Үмүт", "Өмүркан", "Күнзаада",
)  # fmt: skip
#: Roots of Kyrgyz surnames (forefathers' names) with their masculine ending.
KYRGYZ_SURNAMES = (
    "Асанов", "Абдыкадыров", "Жээнбеков", "Токтогулов", "Сыдыков", "Мамытов", "Осмонов", "Турдубаев", "Бакиев",
    "Садыров", "Жумабеков", "Исаков", "Мамбетов", "Касымов", "Эсенбаев", "Абдраимов", "Акматов", "Алыбаев",
    "Бообеков", "Жапаров", "Кадыров", "Мусаев", "Нурматов", "Орозбеков", "Сагынбаев", "Султанов", "Табалдиев",
    "Токтосунов", "Үсөнов", "Шаршеев", "Эркинбаев", "Байсалов", "Тойчиев", "Момунов", "Абылов", "Калматов",
    "Өмүрзаков", "Төрөбеков", "Кубатбеков", "Медетов", "Ташиев", "Атамбаев", "Чотонов", "Жусупов",
)  # fmt: skip
RUSSIAN_MALE = (
    "Александр", "Сергей", "Андрей", "Дмитрий", "Алексей", "Владимир", "Николай", "Евгений", "Игорь", "Михаил",
    "Виктор", "Юрий", "Олег", "Павел", "Иван", "Константин", "Артём", "Максим", "Денис", "Роман",
)  # fmt: skip
RUSSIAN_FEMALE = (
    "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Светлана", "Марина", "Анна", "Людмила", "Галина",
    "Валентина", "Юлия", "Екатерина", "Мария", "Надежда", "Оксана", "Виктория", "Анастасия", "Дарья", "Лариса",
)  # fmt: skip
RUSSIAN_SURNAMES = (
    "Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов", "Михайлов", "Новиков", "Фёдоров",
    "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев",
    "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Борисов", "Яковлев", "Григорьев", "Романов",
    "Сергеев", "Кравченко", "Шевченко", "Бондаренко", "Ильин", "Пушкин",
)  # fmt: skip
#: Russian patronymics (masculine, feminine): from common fathers' names of the generations now voting.
RUSSIAN_PATRONYMICS = (
    ("Александрович", "Александровна"), ("Сергеевич", "Сергеевна"), ("Андреевич", "Андреевна"),
    ("Дмитриевич", "Дмитриевна"), ("Алексеевич", "Алексеевна"), ("Владимирович", "Владимировна"),
    ("Николаевич", "Николаевна"), ("Евгеньевич", "Евгеньевна"), ("Игоревич", "Игоревна"),
    ("Михайлович", "Михайловна"), ("Викторович", "Викторовна"), ("Юрьевич", "Юрьевна"), ("Олегович", "Олеговна"),
    ("Павлович", "Павловна"), ("Иванович", "Ивановна"), ("Петрович", "Петровна"), ("Васильевич", "Васильевна"),
    ("Анатольевич", "Анатольевна"), ("Геннадьевич", "Геннадьевна"), ("Валерьевич", "Валерьевна"),
)  # fmt: skip
#: Kyrgyz fathers' names that take the Russian-style patronymic ending directly (they end in a consonant).
_KYRGYZ_FATHERS = tuple(n for n in KYRGYZ_MALE if n[-1] not in "аеёиоуыэюяйөү")


@dataclass(frozen=True, slots=True)
class FullName:
    """A name as the voter list prints it: surname (may be "Бакыт уулу"), given name, patronymic (may be "")."""

    surname: str
    given_name: str
    patronymic: str

    def __str__(self) -> str:
        return " ".join(part for part in (self.surname, self.given_name, self.patronymic) if part)


def feminine_surname(surname: str) -> str:
    """The feminine form of a surname: -ов/-ев/-ёв/-ин take -а; invariant surnames (-ко, ...) stay as they are."""
    if surname.endswith(("ов", "ев", "ёв", "ин")):
        return surname + "а"
    return surname


def kyrgyz_patronymic(father: str, sex: str) -> str:
    """Russian-style patronymic from a Kyrgyz father's name: Бакыт -> Бакытович / Бакытовна."""
    return father + ("овна" if sex == "F" else "ович")


def draw_name(rng: np.random.Generator, sex: str, russian: bool, traditional_share: float) -> FullName:
    """A plausible full name for a voter of ``sex``; ``traditional_share`` is the chance of the уулу/кызы form."""
    female = sex == "F"
    if russian:
        surname = str(RUSSIAN_SURNAMES[rng.integers(len(RUSSIAN_SURNAMES))])
        given = str((RUSSIAN_FEMALE if female else RUSSIAN_MALE)[rng.integers(20)])
        patronymic = RUSSIAN_PATRONYMICS[rng.integers(len(RUSSIAN_PATRONYMICS))][1 if female else 0]
        return FullName(feminine_surname(surname) if female else surname, given, patronymic)
    names = KYRGYZ_FEMALE if female else KYRGYZ_MALE
    given = str(names[rng.integers(len(names))])
    father = str(_KYRGYZ_FATHERS[rng.integers(len(_KYRGYZ_FATHERS))])
    if rng.random() < traditional_share:
        return FullName(f"{father} {'кызы' if female else 'уулу'}", given, "")
    surname = str(KYRGYZ_SURNAMES[rng.integers(len(KYRGYZ_SURNAMES))])
    return FullName(feminine_surname(surname) if female else surname, given, kyrgyz_patronymic(father, sex))
